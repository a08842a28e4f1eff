"""The typed Dataverse operations the product needs, over one session, token cache and retry policy."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, TypeVar

import requests

from dynamics_campaign_sync.chunking import chunked
from dynamics_campaign_sync.dataverse.auth import TokenProvider
from dynamics_campaign_sync.dataverse.batch import (
    MAX_BATCH_OPERATIONS,
    BatchItemResult,
    BatchOperation,
    ChangeSet,
    decode_batch_response,
    encode_batch,
)
from dynamics_campaign_sync.dataverse.config import DataverseConfig
from dynamics_campaign_sync.dataverse.errors import BatchOperationError, DataverseError, HttpError
from dynamics_campaign_sync.dataverse.models import (
    CAMPAIGN_COLUMNS,
    LIST_COLUMNS,
    Campaign,
    MarketingList,
    MemberChangeResult,
    MemberType,
    NewLead,
    Person,
)
from dynamics_campaign_sync.dataverse.odata import any_of, guid, in_values, iter_records, string_literal
from dynamics_campaign_sync.dataverse.responses import unreadable_response
from dynamics_campaign_sync.dataverse.retry import RequestStats, RetryPolicy
from dynamics_campaign_sync.dataverse.session import ConfiguredTlsSession
from dynamics_campaign_sync.dataverse.transport import Transport

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: Members per AddListMembersList / RemoveListMembersList call; Dataverse accepts large arrays but
#: smaller requests keep each call well inside the 2-minute server timeout.
DEFAULT_MEMBER_CHUNK = 1000
#: Ids per ``$filter`` when looking people up; keeps the URL far below Dataverse's 32 KB limit.
LOOKUP_CHUNK = 50
#: Ids per existence check (``In`` with GUIDs: about 9 KB of URL per request).
EXISTS_CHUNK = 200
_GUID_IN_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


#: Makes a ``PATCH <set>(<id>)`` create-only: Dataverse answers 412 instead of updating a record that exists.
CREATE_ONLY = {"If-None-Match": "*"}


def create_only(entity_set: str, record_id: str, record: dict[str, Any]) -> BatchOperation:
    """The create-only upsert of ``record`` under the id we chose: ``PATCH <set>(<id>)`` with ``If-None-Match: *``.
    Sending it again never makes a second record: Dataverse creates the record, or answers 412 because it exists."""
    return BatchOperation("PATCH", f"{entity_set}({record_id})", record, dict(CREATE_ONLY))


def exists_already(status: int) -> bool:
    """Whether Dataverse refused a write because its result is there already: a create-only upsert of an existing
    id, or an association that exists (412, "A record with matching key values already exists")."""
    return status == 412


def _entity_id(entity_url: str | None) -> str | None:
    """The record id in an ``OData-EntityId`` value (``.../leads(<id>)``), lower-cased; None if there is none."""
    match = _GUID_IN_TEXT.search((entity_url or "").rsplit("(", 1)[-1])
    return match.group(0).lower() if match else None


class DataverseClient:
    """Facade over the Web API. Nothing touches the network until the first call. Requests are retried by
    ``config.retry`` unless ``policy`` replaces it (tests and benchmarks use quicker ones)."""

    def __init__(self, config: DataverseConfig, *, policy: RetryPolicy | None = None) -> None:
        self.config = config
        self.stats = RequestStats()
        self._policy = policy or config.retry

    @cached_property
    def _session(self) -> ConfiguredTlsSession:
        # One connection per request in flight, and one for the token service.
        return ConfiguredTlsSession(self.config.verify, pool_size=self.config.max_concurrency + 1)

    @cached_property
    def tokens(self) -> TokenProvider:
        return TokenProvider(self.config, self._session)

    @cached_property
    def transport(self) -> Transport:
        return Transport(self.config, self._session, self.tokens, self.stats, self._policy)

    def close(self) -> None:
        if "_session" in self.__dict__:
            self._session.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    def iter_records(self, path: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every record of a collection query, page by page (``params`` are ``$select`` etc.)."""
        return iter_records(self.transport, path, params=params or None, page_size=self.config.max_page_size)

    def check_access(self) -> None:
        """One cheap authenticated read: proves the credential, the URL and read access to campaigns."""
        self.transport.get_json("campaigns", params={"$select": "campaignid", "$top": "1"})

    def get_campaign(self, campaign_id: str) -> Campaign:
        record = self.transport.get_json(
            f"campaigns({guid(campaign_id, what='campaign id')})", params={"$select": CAMPAIGN_COLUMNS}
        )
        return Campaign.from_record(record)

    def list_campaigns(self) -> Iterator[Campaign]:
        for record in self.iter_records("campaigns", **{"$select": CAMPAIGN_COLUMNS, "$orderby": "name"}):
            yield Campaign.from_record(record)

    def find_campaigns_by_name(self, name: str) -> list[Campaign]:
        records = self.iter_records(
            "campaigns", **{"$select": CAMPAIGN_COLUMNS, "$filter": f"name eq {string_literal(name)}"}
        )
        return [Campaign.from_record(r) for r in records]

    def get_list(self, list_id: str) -> MarketingList:
        record = self.transport.get_json(
            f"lists({guid(list_id, what='list id')})", params={"$select": LIST_COLUMNS}
        )
        return MarketingList.from_record(record)

    def find_lists_by_name(self, name: str) -> list[MarketingList]:
        """Lists with exactly this name (case-insensitive, as Dataverse compares), the oldest first."""
        records = self.iter_records(
            "lists", **{"$select": LIST_COLUMNS, "$filter": f"listname eq {string_literal(name)}",
                        "$orderby": "createdon,listid"}
        )
        return [MarketingList.from_record(r) for r in records]

    def campaign_lists(self, campaign_id: str) -> list[MarketingList]:
        path = f"campaigns({guid(campaign_id, what='campaign id')})/campaignlist_association"
        return [MarketingList.from_record(r) for r in self.iter_records(path, **{"$select": LIST_COLUMNS})]

    def iter_list_member_ids(self, list_id: str) -> Iterator[str]:
        """Ids of the people in a list (``listmembers`` rows), every page."""
        records = self.iter_records(
            "listmembers",
            **{
                "$select": "_entityid_value,entitytype",
                "$filter": f"_listid_value eq {guid(list_id, what='list id')}",
            },
        )
        for record in records:
            yield record["_entityid_value"]

    def find_people(self, member_type: MemberType, ids: Iterable[str]) -> dict[str, Person]:
        """The given leads/contacts that exist, by id (missing ones are simply absent)."""
        wanted = [guid(i, what=f"{member_type} id") for i in ids]
        return {p.id: p for p in self._lookup(member_type, member_type.key, wanted, literal=str)}

    def existing_ids(self, member_type: MemberType, ids: Iterable[str], *, chunk_size: int = EXISTS_CHUNK
                     ) -> set[str]:
        """Which of these leads/contacts still exist (lower-cased ids): one request per ``chunk_size`` ids,
        selecting only the key — never one request per person."""
        if not 1 <= chunk_size <= EXISTS_CHUNK:
            raise ValueError(f"chunk_size must be between 1 and {EXISTS_CHUNK}, got {chunk_size}")
        wanted = sorted({guid(i, what=f"{member_type} id") for i in ids})

        def read(chunk: Sequence[str]) -> set[str]:
            query = {"$select": member_type.key, "$filter": in_values(member_type.key, chunk)}
            return {str(r[member_type.key]).lower() for r in self.iter_records(member_type.entity_set, **query)}

        return set().union(*self.concurrently(read, list(chunked(wanted, chunk_size))))

    def find_people_by_email(self, member_type: MemberType, emails: Iterable[str]) -> dict[str, Person]:
        """Leads/contacts by primary email (lower-cased key); the oldest record wins on duplicates."""
        found: dict[str, Person] = {}
        for person in self._lookup(member_type, "emailaddress1", sorted({e.strip() for e in emails if e})):
            found.setdefault((person.email or "").lower(), person)
        return found

    def _lookup(
        self,
        member_type: MemberType,
        prop: str,
        values: Sequence[str],
        literal: Callable[[str], str] = string_literal,
    ) -> Iterator[Person]:
        select = f"{member_type.key},emailaddress1,fullname"

        def read(chunk: Sequence[str]) -> list[Person]:
            query = {
                "$select": select,
                "$filter": any_of(prop, chunk, literal=literal),
                "$orderby": "createdon",
            }
            return [Person.from_record(member_type, r) for r in self.iter_records(member_type.entity_set, **query)]

        for people in self.concurrently(read, list(chunked(values, LOOKUP_CHUNK))):
            yield from people

    def concurrently(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``fn`` over ``items``, up to ``max_concurrency`` at a time; results in the order of ``items`` (the
        first error is raised once the calls under way have finished)."""
        if len(items) <= 1 or self.config.max_concurrency == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(self.config.max_concurrency, thread_name_prefix="dataverse-read") as pool:
            return list(pool.map(fn, items))

    # -- writing -----------------------------------------------------------------------------

    def create(self, entity_set: str, record: dict[str, Any]) -> str:
        """Create a record; returns its id from the ``OData-EntityId`` header."""
        response = self.transport.request("POST", entity_set, json_body=record)
        entity_id = _entity_id(response.headers.get("OData-EntityId"))
        if entity_id is None:
            raise HttpError(
                response.status_code,
                f"create in {entity_set} returned no OData-EntityId",
                method="POST",
                url=self.transport.url_for(entity_set),
            )
        return entity_id

    def create_once(self, entity_set: str, record_id: str, record: dict[str, Any]) -> bool:
        """Create a record under the id we chose, as a create-only upsert (:func:`create_only`), so the retry policy
        may resend it and a retried task may call this again. True when Dataverse created it; False when a record
        with that id was there already — made by an attempt whose answer was lost, or by another run."""
        operation = create_only(entity_set, guid(record_id, what=f"id of the new {entity_set} record"), record)
        try:
            self.transport.request(operation.method, operation.path, json_body=operation.body,
                                   headers=operation.headers)
        except HttpError as error:
            if not exists_already(error.status):
                raise
            return False
        return True

    def create_lead(
        self,
        *,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        company_name: str | None = None,
        job_title: str | None = None,
    ) -> str:
        """Create one lead with an id Dataverse chooses (one request), as a person would. Leads for people
        known only by email go through :meth:`create_leads`: batched, and safe to send again."""
        lead = NewLead(email=email, first_name=first_name, last_name=last_name, company_name=company_name,
                       job_title=job_title)
        return self.create("leads", lead.to_record())

    def create_leads(
        self, leads: Sequence[NewLead], *, chunk_size: int = MAX_BATCH_OPERATIONS
    ) -> list[str | HttpError]:
        """Create many leads in ``$batch`` requests of at most ``chunk_size`` operations, each lead with the id
        its email determines (:attr:`NewLead.lead_id`), so sending it again never makes a second lead.

        Each operation is a create-only upsert, ``PATCH leads(<id>)`` with ``If-None-Match: *``: Dataverse
        creates the lead, or answers 412 when that id exists — because an earlier attempt created it and its
        answer was lost (a dropped connection, a client timeout on a long batch, a crashed task). Both count
        as created. So the retry policy may resend a whole ``$batch`` freely, and a retried task may call this
        again with the same people.

        Returns one entry per lead, in input order: the lead's id, or a
        :class:`~dynamics_campaign_sync.dataverse.errors.BatchOperationError` (an :class:`HttpError` whose
        ``index`` is the lead's position in ``leads``) when Dynamics refused that lead. Batches are sent with
        ``Prefer: odata.continue-on-error``, so a refused lead never stops the others. When the retry policy
        gives up on a whole ``$batch`` request, the error is raised; leads of earlier batches exist, and
        calling again creates only the rest.

        Nothing is looked up here: a lead someone created by hand for the same email has another id. Match
        people by email first (``find_people_by_email``) and pass each email once.
        """
        if not 1 <= chunk_size <= MAX_BATCH_OPERATIONS:
            raise ValueError(f"chunk_size must be between 1 and {MAX_BATCH_OPERATIONS}, got {chunk_size}")
        results: list[str | HttpError] = []
        for start in range(0, len(leads), chunk_size):
            chunk = leads[start : start + chunk_size]
            answers = self.execute_batch(
                [create_only("leads", lead.lead_id, lead.to_record()) for lead in chunk],
                continue_on_error=True,
            )
            if len(answers) != len(chunk):
                raise DataverseError(
                    f"$batch answered {len(answers)} of {len(chunk)} lead creations (leads {start + 1}-"
                    f"{start + len(chunk)}); calling again creates the missing ones"
                )
            results.extend(self._created_lead(lead, answer, start + offset)
                           for offset, (lead, answer) in enumerate(zip(chunk, answers, strict=True)))
        return results

    def _created_lead(self, lead: NewLead, answer: BatchItemResult, index: int) -> str | HttpError:
        """The lead's id when the create-only upsert created it or found it there (412), else its error."""
        if answer.ok or exists_already(answer.status):
            return lead.lead_id
        return BatchOperationError(index, HttpError.from_answer(
            answer.status, answer.headers, answer.body, method="PATCH",
            url=self.transport.url_for(f"leads({lead.lead_id})"), reason=f"HTTP {answer.status}"))

    def create_static_list(
        self, name: str, member_type: MemberType, *, list_id: str | None = None
    ) -> MarketingList:
        """Create a static list of ``member_type``. With ``list_id`` it is created under that id by a create-only
        upsert: sending it again after a lost answer, or calling again, finds that list (whatever its name by
        then) instead of making a second one."""
        record = {"listname": name, "type": False, "createdfromcode": member_type.createdfromcode}
        if list_id is None:
            list_id = self.create("lists", record)
        else:
            self.create_once("lists", list_id, record)
        return self.get_list(list_id)

    def associate_list(self, campaign_id: str, list_id: str) -> bool:
        """Associate a list with a campaign unless it already is; True when it was not associated when we looked.

        Safe to resend: when the answer to the association is lost, the retry finds the link there and Dataverse
        refuses it as a duplicate (412), which means the list is associated — what we asked for."""
        campaign_id, list_id = guid(campaign_id, what="campaign id"), guid(list_id, what="list id")
        if any(existing.id == list_id for existing in self.campaign_lists(campaign_id)):
            return False
        try:
            self.transport.request(
                "POST",
                f"campaigns({campaign_id})/campaignlist_association/$ref",
                json_body={"@odata.id": f"{self.config.api_url}lists({list_id})"},
            )
        except HttpError as error:
            if not exists_already(error.status):
                raise
            log.info("List %s was associated with campaign %s already (an earlier attempt's answer was lost, "
                     "or another run linked it)", list_id, campaign_id)
        return True

    #: The Dataverse action behind each kind of membership change.
    MEMBER_ACTIONS = {"add": "AddListMembersList", "remove": "RemoveListMembersList"}

    def change_members(self, action: str, list_id: str, member_type: MemberType, ids: Sequence[str], *,
                       chunk_size: int = DEFAULT_MEMBER_CHUNK) -> MemberChangeResult:
        """Add or remove people in chunks. Adding a member again or removing a non-member changes nothing."""
        if action not in self.MEMBER_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(self.MEMBER_ACTIONS)}, got {action!r}")
        list_id = guid(list_id, what="list id")
        result = MemberChangeResult()
        for chunk in chunked([guid(i, what=f"{member_type} id") for i in ids], chunk_size):
            self._change_chunk(self.MEMBER_ACTIONS[action], list_id, member_type, list(chunk), result)
        return result

    def add_members(self, list_id: str, member_type: MemberType, ids: Sequence[str], **options: int) -> MemberChangeResult:
        return self.change_members("add", list_id, member_type, ids, **options)

    def remove_members(self, list_id: str, member_type: MemberType, ids: Sequence[str], **options: int) -> MemberChangeResult:
        return self.change_members("remove", list_id, member_type, ids, **options)

    def _change_chunk(
        self, action: str, list_id: str, member_type: MemberType, chunk: list[str], result: MemberChangeResult
    ) -> None:
        """Send one chunk. A chunk is all-or-nothing in Dataverse, so when the error names people in
        the chunk (a deleted lead, say) those people are set aside and the rest is sent again; an error
        that names nobody in the chunk (locked list, no privilege) concerns everyone and is raised."""
        pending = chunk
        while pending:
            body = {
                "List": {"@odata.type": "Microsoft.Dynamics.CRM.list", "listid": list_id},
                "Members": [{"@odata.type": member_type.odata_type, member_type.key: i} for i in pending],
            }
            result.requests += 1
            try:
                self.transport.request("POST", action, json_body=body)
            except HttpError as error:
                named = {m.lower() for m in _GUID_IN_TEXT.findall(error.message)} & set(pending)
                if error.is_transient or not named:
                    raise
                for person_id in named:
                    result.failed[person_id] = (
                        f"HTTP {error.status} {error.code or ''}: {error.message}".strip()
                    )
                pending = [i for i in pending if i not in named]
                continue
            result.succeeded.extend(pending)
            return

    def execute_batch(
        self, items: Sequence[BatchOperation | ChangeSet], *, continue_on_error: bool = False
    ) -> list[BatchItemResult]:
        """Run operations in one ``$batch`` request; returns one result per executed operation.

        The answer is decoded inside the retry policy's attempt, so a 200 whose multipart body is cut short is
        sent again, like a lost answer: callers send only operations that are safe to repeat."""
        content_type, body = encode_batch(items, self.config.api_url)
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        return self.transport.exchange("POST", "$batch", self._read_batch, data=body, headers=headers,
                                       accept_error=_is_batch_item_failure)

    def _read_batch(self, response: requests.Response) -> list[BatchItemResult]:
        try:
            return decode_batch_response(response.headers.get("Content-Type", ""), response.text)
        except ValueError as error:
            raise unreadable_response(response, str(error), method="POST",
                                      url=self.transport.url_for("$batch")) from None


def _is_batch_item_failure(response: requests.Response) -> bool:
    """Without continue-on-error Dataverse answers a batch whose operation failed with that operation's
    4xx status, but still with a multipart body holding the responses so far."""
    return (response.status_code < 500 and response.status_code != 429
            and response.headers.get("Content-Type", "").startswith("multipart/mixed"))
