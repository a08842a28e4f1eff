"""The tables the emulator serves, with the documented Dataverse columns, types, choices and relationships.

Only what Campaign Sync touches is modelled. Column names are the Web API property names (lookups appear
as ``_<name>_value``), and they are also the SQLite column names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GUID, STRING, INT, BOOL, DATETIME, DECIMAL = "guid", "string", "int", "bool", "datetime", "decimal"

EDM_TYPES = {
    GUID: "Edm.Guid", STRING: "Edm.String", INT: "Edm.Int32", BOOL: "Edm.Boolean",
    DATETIME: "Edm.DateTimeOffset", DECIMAL: "Edm.Decimal",
}
SQL_TYPES = {
    GUID: "TEXT", STRING: "TEXT COLLATE NOCASE", INT: "INTEGER", BOOL: "INTEGER",
    DATETIME: "TEXT", DECIMAL: "REAL",
}

MEMBER_TYPE_CODES = {"account": 1, "contact": 2, "lead": 4}
MEMBER_TYPE_NAMES = {code: name for name, code in MEMBER_TYPE_CODES.items()}

INDUSTRY_CODES = {
    1: "Accounting", 2: "Agriculture and Non-petrol Natural Resource Extraction",
    3: "Broadcasting Printing and Publishing", 4: "Brokers", 5: "Building Supply Retail",
    6: "Business Services", 7: "Consulting", 8: "Consumer Services",
    9: "Design, Direction and Creative Management", 10: "Distributors, Dispatchers and Processors",
    11: "Doctor's Offices and Clinics", 12: "Durable Manufacturing", 13: "Eating and Drinking Places",
    14: "Entertainment Retail", 15: "Equipment Rental and Leasing", 16: "Financial",
    17: "Food and Tobacco Processing", 18: "Inbound Capital Intensive Processing",
    19: "Inbound Repair and Services", 20: "Insurance", 21: "Legal Services",
    22: "Non-Durable Merchandise Retail", 23: "Outbound Consumer Service",
    24: "Petrochemical Extraction and Distribution", 25: "Service Retail", 26: "SIG Affiliations",
    27: "Social Services", 28: "Special Outbound Trade Contractors", 29: "Specialty Realty",
    30: "Transportation", 31: "Utility Creation and Distribution", 32: "Vehicle Retail", 33: "Wholesale",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    readonly: bool = False  # system-maintained: ignored when a client sends it
    options: dict[int, str] | None = None  # choice labels, for FormattedValue annotations
    max_length: int | None = None  # strings: longer values are refused with a validation error

    @property
    def edm(self) -> str:
        return EDM_TYPES[self.type]


@dataclass(frozen=True)
class State:
    label: str
    default_status: int
    statuses: dict[int, str]


@dataclass(frozen=True)
class Navigation:
    """A collection-valued navigation property. ``kind`` says which table links the two sides."""

    name: str
    target: str  # logical name of the related table
    kind: str  # "campaignitem" or "listmember"
    member_type: str | None = None  # for listmember navigations: "lead" or "contact"


@dataclass(frozen=True)
class EntityDef:
    logical_name: str
    entity_set: str
    primary_key: str
    primary_name: str
    columns: dict[str, Column]
    states: dict[int, State] = field(default_factory=dict)
    state_enum: str = ""  # e.g. "CampaignState", used in Dataverse-style messages
    required: tuple[str, ...] = ()
    immutable: tuple[str, ...] = ()  # valid on create, not on update
    creatable: bool = True
    updatable: bool = True
    computed_fullname: bool = False
    navigations: dict[str, Navigation] = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    def column(self, name: str) -> Column | None:
        return self.columns.get(name)


def _columns(*cols: Column) -> dict[str, Column]:
    return {c.name: c for c in cols}


def _system(pk: str) -> tuple[Column, ...]:
    return (
        Column(pk, GUID),
        Column("createdon", DATETIME, readonly=True),
        Column("modifiedon", DATETIME, readonly=True),
        Column("overriddencreatedon", DATETIME),
        Column("versionnumber", INT, readonly=True),
    )


CAMPAIGN_STATUS = {0: "Proposed", 1: "Ready To Launch", 2: "Launched", 3: "Completed", 4: "Canceled",
                   5: "Suspended", 6: "Inactive"}

CAMPAIGN = EntityDef(
    logical_name="campaign", entity_set="campaigns", primary_key="campaignid", primary_name="name",
    columns=_columns(
        *_system("campaignid"),
        Column("name", STRING), Column("codename", STRING), Column("description", STRING),
        Column("statecode", INT, options={0: "Active", 1: "Inactive"}),
        Column("statuscode", INT, options=CAMPAIGN_STATUS),
        Column("istemplate", BOOL),
        Column("typecode", INT, options={1: "Advertisement", 2: "Direct Marketing", 3: "Event",
                                         4: "Co-branding", 5: "Other"}),
        Column("proposedstart", DATETIME), Column("proposedend", DATETIME),
        Column("actualstart", DATETIME), Column("actualend", DATETIME),
        Column("budgetedcost", DECIMAL), Column("expectedresponse", INT),
    ),
    states={0: State("Active", 0, {k: v for k, v in CAMPAIGN_STATUS.items() if k != 6}),
            1: State("Inactive", 6, {6: "Inactive"})},
    state_enum="CampaignState",
    required=("name",),
    navigations={"campaignlist_association": Navigation("campaignlist_association", "list", "campaignitem")},
)

LIST = EntityDef(
    logical_name="list", entity_set="lists", primary_key="listid", primary_name="listname",
    columns=_columns(
        *_system("listid"),
        Column("listname", STRING), Column("description", STRING), Column("purpose", STRING),
        Column("source", STRING), Column("query", STRING),
        Column("type", BOOL, options={0: "Static", 1: "Dynamic"}),
        Column("createdfromcode", INT, options={1: "Account", 2: "Contact", 4: "Lead"}),
        Column("lockstatus", BOOL, options={0: "No", 1: "Yes"}),
        Column("statecode", INT, options={0: "Active", 1: "Inactive"}),
        Column("statuscode", INT, options={0: "Active", 1: "Inactive"}),
        Column("membercount", INT, readonly=True),
        Column("lastusedon", DATETIME),
    ),
    states={0: State("Active", 0, {0: "Active"}), 1: State("Inactive", 1, {1: "Inactive"})},
    state_enum="ListState",
    required=("listname", "createdfromcode"),
    immutable=("createdfromcode",),
    navigations={
        "campaignlist_association": Navigation("campaignlist_association", "campaign", "campaignitem"),
        "listlead_association": Navigation("listlead_association", "lead", "listmember", "lead"),
        "listcontact_association": Navigation("listcontact_association", "contact", "listmember", "contact"),
    },
)

LISTMEMBER = EntityDef(
    logical_name="listmember", entity_set="listmembers", primary_key="listmemberid",
    primary_name="listmemberid",
    columns=_columns(
        *_system("listmemberid"),
        Column("_listid_value", GUID, readonly=True),
        Column("_entityid_value", GUID, readonly=True),
        Column("entitytype", STRING, readonly=True),
    ),
    # Dataverse exposes no Create/Update for listmember: members come and go through the list actions.
    creatable=False, updatable=False,
)

LEAD_STATUS = {1: "New", 2: "Contacted", 3: "Qualified", 4: "Lost", 5: "Cannot Contact", 6: "No Longer Interested",
               7: "Canceled"}

LEAD = EntityDef(
    logical_name="lead", entity_set="leads", primary_key="leadid", primary_name="fullname",
    columns=_columns(
        *_system("leadid"),
        Column("subject", STRING), Column("firstname", STRING), Column("lastname", STRING),
        Column("fullname", STRING, readonly=True), Column("emailaddress1", STRING, max_length=100),
        Column("jobtitle", STRING), Column("companyname", STRING),
        Column("industrycode", INT, options=INDUSTRY_CODES),
        Column("address1_city", STRING), Column("address1_stateorprovince", STRING),
        Column("address1_country", STRING), Column("numberofemployees", INT), Column("revenue", DECIMAL),
        Column("leadsourcecode", INT, options={1: "Advertisement", 2: "Employee Referral",
                                               3: "External Referral", 4: "Partner", 5: "Public Relations",
                                               6: "Seminar", 7: "Trade Show", 8: "Web", 9: "Word of Mouth",
                                               10: "Other"}),
        Column("telephone1", STRING), Column("websiteurl", STRING), Column("description", STRING),
        Column("donotemail", BOOL), Column("_ownerid_value", GUID, readonly=True),
        Column("statecode", INT, options={0: "Open", 1: "Qualified", 2: "Disqualified"}),
        Column("statuscode", INT, options=LEAD_STATUS),
    ),
    states={0: State("Open", 1, {1: "New", 2: "Contacted"}), 1: State("Qualified", 3, {3: "Qualified"}),
            2: State("Disqualified", 6, {4: "Lost", 5: "Cannot Contact", 6: "No Longer Interested",
                                        7: "Canceled"})},
    state_enum="LeadState",
    computed_fullname=True,
    navigations={"listlead_association": Navigation("listlead_association", "list", "listmember", "lead")},
)

CONTACT = EntityDef(
    logical_name="contact", entity_set="contacts", primary_key="contactid", primary_name="fullname",
    columns=_columns(
        *_system("contactid"),
        Column("firstname", STRING), Column("lastname", STRING), Column("fullname", STRING, readonly=True),
        Column("emailaddress1", STRING, max_length=100), Column("jobtitle", STRING), Column("department", STRING),
        Column("telephone1", STRING), Column("address1_city", STRING), Column("address1_country", STRING),
        Column("description", STRING), Column("donotemail", BOOL), Column("_ownerid_value", GUID, readonly=True),
        Column("statecode", INT, options={0: "Active", 1: "Inactive"}),
        Column("statuscode", INT, options={1: "Active", 2: "Inactive"}),
    ),
    states={0: State("Active", 1, {1: "Active"}), 1: State("Inactive", 2, {2: "Inactive"})},
    state_enum="ContactState",
    computed_fullname=True,
    navigations={"listcontact_association": Navigation("listcontact_association", "list", "listmember",
                                                       "contact")},
)

ENTITIES: dict[str, EntityDef] = {e.logical_name: e for e in (CAMPAIGN, LIST, LISTMEMBER, LEAD, CONTACT)}
BY_SET: dict[str, EntityDef] = {e.entity_set: e for e in ENTITIES.values()}
# Tables a marketing list can hold; accounts are not emulated.
MEMBER_ENTITIES = {"lead": LEAD, "contact": CONTACT}
