"""Weighted vocabularies for realistic sample people and activities.

Each entry is ``(value, weight)``; weights need not sum to one. The values are
invented but shaped like real B2B marketing data: many individual
contributors, fewer managers and executives, a long tail of countries and
industries, most web traffic on the home page and blog.
"""

from __future__ import annotations

JOB_TITLES: list[tuple[str, float]] = [
    ("Software Engineer", 9),
    ("Senior Software Engineer", 6),
    ("Data Analyst", 5),
    ("Data Engineer", 4),
    ("Marketing Manager", 5),
    ("Marketing Operations Specialist", 3),
    ("Demand Generation Manager", 2),
    ("Product Manager", 4),
    ("Account Executive", 4),
    ("Sales Development Representative", 4),
    ("Customer Success Manager", 3),
    ("IT Manager", 3),
    ("Systems Administrator", 3),
    ("Consultant", 4),
    ("Project Manager", 3),
    ("Operations Manager", 3),
    ("Financial Analyst", 2),
    ("Director of Marketing", 1.5),
    ("Director of Engineering", 1.2),
    ("Director, IT", 0.8),
    ("Head of Data", 0.8),
    ("Head of Growth", 0.5),
    ("VP Marketing", 0.6),
    ("VP of Sales", 0.6),
    ("Vice President, Engineering", 0.4),
    ("Chief Technology Officer", 0.3),
    ("Chief Marketing Officer", 0.25),
    ("Chief Executive Officer", 0.3),
    ("Founder", 0.6),
    ("Student", 1.5),
    ("Intern", 0.8),
    ("Teacher", 0.4),
    ("", 1.0),  # left blank on a form
]

INDUSTRIES: list[tuple[str, float]] = [
    ("Software", 18),
    ("Financial Services", 10),
    ("Healthcare", 8),
    ("Manufacturing", 9),
    ("Retail", 7),
    ("Education", 5),
    ("Telecommunications", 4),
    ("Professional Services", 8),
    ("Logistics", 4),
    ("Energy", 3),
    ("Media", 3),
    ("Government", 2),
    ("Non-Profit", 2),
    ("Insurance", 4),
    ("Hospitality", 2),
]

COUNTRIES: list[tuple[str, float]] = [
    ("United States", 34),
    ("United Kingdom", 9),
    ("Germany", 8),
    ("France", 5),
    ("Canada", 5),
    ("India", 6),
    ("Netherlands", 3),
    ("Australia", 3),
    ("Spain", 2.5),
    ("Italy", 2.5),
    ("Sweden", 1.5),
    ("Switzerland", 1.5),
    ("Brazil", 2.5),
    ("Japan", 2),
    ("Singapore", 1.2),
    ("Ireland", 1.2),
    ("Poland", 1.5),
    ("Belgium", 1),
    ("Denmark", 0.8),
    ("Austria", 0.8),
    ("Mexico", 1.5),
    ("South Africa", 0.8),
    ("Norway", 0.6),
    ("Finland", 0.5),
]

FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Sandra Mark Ashley Paul "
    "Emily Steven Michelle Andrew Amanda Kenneth Melissa Joshua Stephanie Kevin Rebecca Brian Laura George "
    "Emma Timothy Olivia Ryan Sophia Jacob Hannah Lukas Lena Jonas Mia Felix Anna Paul Lea Noah Clara "
    "Hugo Chloe Louis Camille Arthur Manon Lucas Ines Oliver Amelia Harry Isla Aarav Ananya Vivaan Diya "
    "Haruto Yui Sota Hina Mateo Valentina Santiago Camila Lars Ingrid Erik Astrid Piotr Zofia Jan Eva"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Mueller Schmidt Schneider Fischer Weber "
    "Meyer Wagner Becker Dubois Durand Leroy Moreau Laurent Rossi Russo Ferrari Esposito Patel Sharma "
    "Singh Kumar Tanaka Suzuki Sato Takahashi Silva Santos Oliveira Andersson Johansson Nowak Kowalski "
    "Jansen de Vries van Dijk Murphy Kelly OBrien Byrne"
).split()

COMPANY_WORDS_A = (
    "Northwind Blue Harbor Summit Cedar Granite Silver Pioneer Atlas Evergreen Crescent Redwood Beacon "
    "Horizon Lakeside Ironwood Meridian Quantum Bright Apex Cobalt Falcon Orchard Riverbend Stonebridge "
    "Sterling Tidewater Vertex Willow Zenith Aurora Bluebird Copper Driftwood Emerald Foxglove Harbor"
).split()

COMPANY_WORDS_B = (
    "Analytics Logistics Systems Health Capital Foods Labs Software Energy Partners Retail Media Robotics "
    "Insurance Networks Solutions Manufacturing Consulting Learning Outfitters Pharma Telecom Holdings"
).split()

COMPANY_SUFFIXES = ["Inc.", "Ltd", "GmbH", "LLC", "SA", "BV", "AG", "Group", "Co.", ""]

SITE = "https://www.example.com"

PAGES: list[tuple[str, float]] = [
    ("/", 22),
    ("/blog/data-pipelines-101", 5),
    ("/blog/campaign-attribution", 4),
    ("/blog/customer-360", 3),
    ("/blog/release-notes", 3),
    ("/product", 9),
    ("/product/integrations", 5),
    ("/product/security", 2.5),
    ("/solutions/marketing", 3),
    ("/solutions/finance", 2),
    ("/pricing", 6),
    ("/pricing/enterprise", 1.5),
    ("/docs/getting-started", 5),
    ("/docs/api", 3.5),
    ("/customers", 2.5),
    ("/demo", 1.5),
    ("/contact", 2),
    ("/careers", 2.5),
    ("/about", 1.5),
    ("/webinars", 1.5),
]

FORMS: list[tuple[str, str, float]] = [  # (form name, page it lives on, weight)
    ("Newsletter Signup", "/blog", 30),
    ("Whitepaper Download", "/resources/whitepaper", 24),
    ("Contact Us", "/contact", 14),
    ("Webinar Registration", "/webinars", 13),
    ("Demo Request", "/demo", 12),
    ("Free Trial", "/trial", 7),
]

EMAILS: list[tuple[str, float]] = [  # email program names; the month is appended
    ("Monthly Newsletter", 40),
    ("Product Update", 20),
    ("Webinar Invitation", 15),
    ("Customer Story", 10),
    ("Trial Nurture", 8),
    ("Event Follow-up", 7),
]

EMAIL_LINKS: list[tuple[str, float]] = [
    ("/blog/release-notes", 25),
    ("/webinars", 15),
    ("/pricing", 12),
    ("/product", 18),
    ("/customers", 10),
    ("/docs/getting-started", 12),
    ("/demo", 8),
]

WEBINARS: list[tuple[str, float]] = [
    ("Modern Data Stack in 45 Minutes", 3),
    ("Attribution That Finance Trusts", 2),
    ("Scaling Customer Success", 2),
    ("Security Deep Dive", 1),
    ("Quarterly Product Keynote", 4),
]

ASSETS: list[tuple[str, str, float]] = [  # (asset name, asset type, weight)
    ("State of Marketing Data 2026", "report", 4),
    ("Buyer's Guide to CDPs", "ebook", 3),
    ("ROI Calculator", "tool", 2),
    ("Integration Checklist", "checklist", 2),
    ("Analyst Report", "report", 1.5),
]

#: Activity types and their share of all activity rows; the last two are custom types with JSON attributes.
ACTIVITY_TYPES: list[tuple[str, float]] = [
    ("web_visit", 53),
    ("email_open", 27),
    ("email_click", 8),
    ("form_fill", 3),
    ("content_download", 7),
    ("webinar_attended", 2),
]

#: Change activities (``--changes``): what changed, by share of the change rows.
CHANGE_KINDS: list[tuple[str, float]] = [
    ("job_title", 30),  # data_value_changed: a new title, mostly a promotion
    ("country", 10),  # data_value_changed: moved abroad
    ("lead_score", 60),  # score_changed: scoring rules fired
]

#: Job title changes (old, new, weight); "Manager" is how many people enter a bare title.
TITLE_CHANGES: list[tuple[str, str, float]] = [
    ("Manager", "Director", 3),
    ("Manager", "Senior Manager", 2),
    ("Marketing Manager", "Director of Marketing", 3),
    ("Demand Generation Manager", "Marketing Manager", 2),
    ("Software Engineer", "Senior Software Engineer", 6),
    ("Senior Software Engineer", "Engineering Manager", 2),
    ("Engineering Manager", "Director of Engineering", 2),
    ("IT Manager", "Director, IT", 1.5),
    ("Data Analyst", "Data Engineer", 2),
    ("Data Engineer", "Head of Data", 1),
    ("Director of Marketing", "VP Marketing", 1),
    ("Account Executive", "VP of Sales", 0.5),
    ("Intern", "Software Engineer", 1),
    ("", "Product Manager", 1),  # first filled in
]

#: Score change amounts of typical scoring rules (amount, weight): small positive steps dominate.
SCORE_CHANGES: list[tuple[int, float]] = [
    (5, 30), (10, 20), (15, 10), (25, 5), (50, 1), (-5, 15), (-10, 10), (-25, 3),
]  # fmt: skip

#: Relative activity by weekday, Monday first (B2B traffic drops at the weekend).
WEEKDAY_WEIGHTS = [1.0, 1.08, 1.06, 1.0, 0.84, 0.33, 0.29]

#: Relative activity by UTC hour (business hours across Europe and the Americas).
HOUR_WEIGHTS = [
    0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 0.9, 1.2, 1.4, 1.5, 1.5,
    1.4, 1.5, 1.7, 1.8, 1.7, 1.5, 1.2, 0.9, 0.7, 0.6, 0.5, 0.4,
]  # fmt: skip
