"""Reads: the ``$filter`` parser, query options, paging with nextLink, navigation reads."""

from __future__ import annotations

from typing import Any

import pytest

from dataverse_emulator.errors import ODataError
from dataverse_emulator.odata_filter import compile_filter, parse_filter
from dataverse_emulator.schema import LEAD, LISTMEMBER
from dataverse_emulator.testing import EmulatorSession, RunningEmulator, demo_record


# -- parser, in process --------------------------------------------------------------------------------------
def test_precedence_not_then_comparison_then_and_then_or() -> None:
    ast = parse_filter("statecode eq 0 or statecode eq 1 and not donotemail")
    assert ast[0] == "or" and ast[2][0] == "and" and ast[2][2] == ("not", ("prop", "donotemail"))
    grouped = parse_filter("(statecode eq 0 or statecode eq 1) and donotemail")
    assert grouped[0] == "and" and grouped[1][0] == "or"


def test_literals_are_typed_and_quotes_are_unescaped() -> None:
    compiled = compile_filter("companyname eq 'O''Brien & Co' and numberofemployees ge -5 and revenue lt 1.5 "
                              "and createdon gt 2025-01-02T03:04:05+01:00 and donotemail eq false "
                              "and leadid ne 8B0F6A52-2F1B-4C5E-9A57-6D1C0DE5EED0 and jobtitle ne null", LEAD)
    assert compiled.params == ["O'Brien & Co", -5, 1.5, "2025-01-02T02:04:05Z", 0,
                               "8b0f6a52-2f1b-4c5e-9a57-6d1c0de5eed0"]
    assert '"jobtitle" IS NOT NULL' in compiled.sql
    assert compile_filter("_listid_value eq '8b0f6a52-2f1b-4c5e-9a57-6d1c0de5eed0'", LISTMEMBER).params == [
        "8b0f6a52-2f1b-4c5e-9a57-6d1c0de5eed0"]


@pytest.mark.parametrize(("text", "message"), [
    ("lastname eq 'O'Bryan'", "There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''."),
    ("nosuchcolumn eq 1", "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.lead'."),
    ("statecode eq '0'", "Found operand types 'Edm.Int32' and 'Edm.String' for operator kind 'Equal'"),
    ("not statecode eq 0", "A unary operator with an incompatible type was detected"),
    ("firstname eqq 'x'", "Syntax error at position 10"),
    ("(statecode eq 0", "Syntax error"),
    ("statecode", "must evaluate to a single boolean value"),
    ("substringof('a', firstname)", "An unknown function with name 'substringof' was found"),
    ("contains(numberofemployees, '1')", "No function signature for the function with name 'contains'"),
])
def test_bad_filters_are_400_with_the_odata_message(text: str, message: str) -> None:
    with pytest.raises(ODataError) as caught:
        compile_filter(text, LEAD)
    assert caught.value.status == 400 and message in caught.value.message


# -- filters over HTTPS -------------------------------------------------------------------------------------
def _leads(api: EmulatorSession, emu: RunningEmulator, flt: str, select: str = "fullname") -> list[dict[str, Any]]:
    response = api.get(emu.api_url + "leads", params={"$filter": flt, "$select": select})
    assert response.status_code == 200, response.text
    return response.json()["value"]


@pytest.mark.parametrize(("flt", "expected"), [
    ("numberofemployees eq 85", lambda r: r["numberofemployees"] == 85),
    ("numberofemployees ne 85", lambda r: r["numberofemployees"] != 85),
    ("numberofemployees gt 400", lambda r: r["numberofemployees"] > 400),
    ("numberofemployees ge 400", lambda r: r["numberofemployees"] >= 400),
    ("numberofemployees lt 60", lambda r: r["numberofemployees"] < 60),
    ("numberofemployees le 60", lambda r: r["numberofemployees"] <= 60),
    ("address1_country eq 'germany'", lambda r: r["address1_country"] == "Germany"),  # case-insensitive
    ("contains(jobtitle,'manager')", lambda r: "manager" in r["jobtitle"].lower()),
    ("startswith(companyname,'North')", lambda r: r["companyname"].startswith("North")),
    ("endswith(emailaddress1,'fabrikaminc.example.com')",
     lambda r: r["emailaddress1"].endswith("fabrikaminc.example.com")),
    ("not contains(jobtitle,'Chief')", lambda r: "Chief" not in r["jobtitle"]),
    ("address1_country eq 'France' or address1_country eq 'Spain' and numberofemployees gt 100",
     lambda r: r["address1_country"] == "France"
     or (r["address1_country"] == "Spain" and r["numberofemployees"] > 100)),
    ("(address1_country eq 'France' or address1_country eq 'Spain') and numberofemployees gt 100",
     lambda r: r["address1_country"] in ("France", "Spain") and r["numberofemployees"] > 100),
    ("donotemail eq true", lambda r: r["donotemail"] is True),
    ("donotemail", lambda r: r["donotemail"] is True),
    ("statecode eq 1 and statuscode eq 3", lambda r: r["statecode"] == 1),
    ("companyname eq 'O''Brien & Co'", lambda r: r["companyname"] == "O'Brien & Co"),
    ("contains(companyname,'''')", lambda r: "'" in r["companyname"]),
    ("websiteurl eq null and industrycode ne null", lambda r: True),
    ("Microsoft.Dynamics.CRM.In(PropertyName='address1_country',PropertyValues=[\"Japan\",\"Italy\"])",
     lambda r: r["address1_country"] in ("Japan", "Italy")),
])
def test_filter_operators_match_the_data(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any],
                                         flt: str, expected: Any) -> None:
    got = {r["leadid"] for r in _leads(api, emu, flt)}
    want = {r["leadid"] for r in demo["leads"] if expected({"donotemail": False, **r})}
    assert got == want and (got or flt.startswith("statecode"))


def test_guid_literals_and_lookup_values(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    lead = demo["leads"][4]
    assert [r["leadid"] for r in _leads(api, emu, f"leadid eq {lead['leadid'].upper()}")] == [lead["leadid"]]
    webinar = demo_record("lists", listname="Webinar registrants (imported)")
    members = api.get(emu.api_url + "listmembers", params={
        "$select": "_entityid_value,entitytype", "$filter": f"_listid_value eq {webinar['listid']}"}).json()
    expected = {m["_entityid_value"] for m in demo["listmembers"] if m["_listid_value"] == webinar["listid"]}
    assert {m["_entityid_value"] for m in members["value"]} == expected
    assert all(set(m) == {"@odata.etag", "_entityid_value", "entitytype", "listmemberid"} for m in members["value"])


def test_unknown_properties_and_unsupported_options_are_400(emu: RunningEmulator, api: EmulatorSession) -> None:
    for params, fragment in [
        ({"$filter": "shoesize gt 3"}, "Could not find a property named 'shoesize'"),
        ({"$select": "fullname,shoesize"}, "Could not find a property named 'shoesize'"),
        ({"$orderby": "shoesize desc"}, "Could not find a property named 'shoesize'"),
        ({"$skip": "10"}, "The query parameter $skip is not supported"),
        ({"$top": "-1"}, "requires a non-negative integer value"),
        ({"$bogus": "1"}, "The query parameter '$bogus' is not supported."),
    ]:
        response = api.get(emu.api_url + "leads", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "0x80060888"
        assert fragment in response.json()["error"]["message"]


def test_orderby_top_count_and_select(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    response = api.get(emu.api_url + "leads", params={
        "$select": "address1_country,numberofemployees", "$orderby": "address1_country desc,numberofemployees asc",
        "$top": "5", "$count": "true"})
    body = response.json()
    ordered = sorted(demo["leads"], key=lambda r: r["numberofemployees"])
    ordered = sorted(ordered, key=lambda r: r["address1_country"], reverse=True)
    assert [(r["address1_country"], r["numberofemployees"]) for r in body["value"]] == [
        (r["address1_country"], r["numberofemployees"]) for r in ordered[:5]]
    assert body["@odata.count"] == 50 and "@odata.nextLink" not in body
    assert body["@odata.context"].endswith("$metadata#leads(address1_country,numberofemployees)")


def test_paging_follows_next_links_unchanged(emu: RunningEmulator, api: EmulatorSession,
                                             demo: dict[str, Any]) -> None:
    url: str | None = emu.api_url + "leads?$select=fullname&$filter=statecode eq 0 or statecode eq 1"
    headers = {"Prefer": "odata.maxpagesize=7"}
    seen: list[str] = []
    pages = 0
    while url:
        response = api.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=7"
        body = response.json()
        assert len(body["value"]) <= 7
        seen += [r["leadid"] for r in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert "$skiptoken=" in url and "$select=fullname" in url
        pages += 1
    assert pages == 8 and len(seen) == len(set(seen)) == len(demo["leads"])


def test_paging_with_orderby_and_default_page_size(emu: RunningEmulator, api: EmulatorSession) -> None:
    url: str | None = emu.api_url + "leads?$select=lastname&$orderby=lastname desc"
    names: list[str] = []
    while url:
        body = api.get(url, headers={"Prefer": "odata.maxpagesize=20"}).json()
        names += [r["lastname"] for r in body["value"]]
        url = body.get("@odata.nextLink")
    assert len(names) == 50 and names == sorted(names, key=str.lower, reverse=True)
    everything = api.get(emu.api_url + "leads?$select=lastname").json()
    assert len(everything["value"]) == 50 and "@odata.nextLink" not in everything


def test_single_record_reads(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    campaign = demo_record("campaigns", statecode=1)
    response = api.get(emu.api_url + f"campaigns({campaign['campaignid']})",
                       params={"$select": "name,statecode,statuscode"})
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#campaigns(name,statecode,statuscode)/$entity")
    assert (body["name"], body["statecode"], body["statuscode"]) == (campaign["name"], 1, 6)
    assert response.headers["ETag"] == body["@odata.etag"]
    missing = "00000000-0000-0000-0000-00000000abcd"
    gone = api.get(emu.api_url + f"campaigns({missing})")
    assert gone.status_code == 404
    assert gone.json()["error"] == {"code": "0x80040217", "message": f"campaign With Id = {missing} Does Not Exist"}
    assert api.get(emu.api_url + "nosuchset").status_code == 404


def test_navigation_reads(emu: RunningEmulator, api: EmulatorSession, demo: dict[str, Any]) -> None:
    launched = demo_record("campaigns", statuscode=2)
    webinar = demo_record("lists", listname="Webinar registrants (imported)")
    lists = api.get(emu.api_url + f"campaigns({launched['campaignid']})/campaignlist_association",
                    params={"$select": "listname,createdfromcode"}).json()
    assert [(r["listid"], r["listname"]) for r in lists["value"]] == [(webinar["listid"], webinar["listname"])]
    members = api.get(emu.api_url + f"lists({webinar['listid']})/listlead_association",
                      params={"$select": "fullname,companyname", "$filter": "contains(companyname,'Brien')"}).json()
    assert [r["companyname"] for r in members["value"]] == ["O'Brien & Co"]
    paged = api.get(emu.api_url + f"lists({webinar['listid']})/listlead_association?$select=fullname",
                    headers={"Prefer": "odata.maxpagesize=3"}).json()
    assert len(paged["value"]) == 3 and "/listlead_association?" in paged["@odata.nextLink"]
    rest = api.get(paged["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=3"}).json()
    assert len(rest["value"]) == 1 and "@odata.nextLink" not in rest
    assert api.get(emu.api_url + f"lists({webinar['listid']})/listcontact_association").json()["value"] == []
    back = api.get(emu.api_url + f"lists({webinar['listid']})/campaignlist_association?$select=name").json()
    assert [r["campaignid"] for r in back["value"]] == [launched["campaignid"]]
