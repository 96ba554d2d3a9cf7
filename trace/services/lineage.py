"""Trace back and forward: which lots went into a lot, and where a lot went, through any number of steps.

The walk is one recursive query, the same SQL on SQLite and PostgreSQL. Lots are linked only by
transformations that no correction voided: an input lot leads to every output lot of the same event.
UNION (not UNION ALL) drops a lot already reached, so a cycle in bad data ends the walk instead of
looping; depths are then read off the few links among the lots found.
"""
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from ..models import Batch, Event, EventLot, Lot, Organization, Product, Shipment, Site
from .events import ERROR_DECLARATION, in_force, voided
from .parse import local_datetime
from .units import plain

WALKS = {"back": ("output", "input"), "forward": ("input", "output")}
WALK = """
WITH RECURSIVE walk(lot_id) AS (
    SELECT id FROM lot WHERE id IN :roots
    UNION
    SELECT step.lot_id
    FROM walk
    JOIN eventlot here ON here.lot_id = walk.lot_id AND here.role = :here
    JOIN eventlot step ON step.event_id = here.event_id AND step.role = :there
    WHERE NOT EXISTS (SELECT 1 FROM event fix WHERE fix.corrects_event_id = here.event_id)
)
SELECT lot_id FROM walk
"""
LINKS = """
SELECT i.event_id, i.lot_id, o.lot_id, i.quantity, i.unit, o.quantity, o.unit
FROM eventlot i JOIN eventlot o ON o.event_id = i.event_id AND o.role = 'output'
WHERE i.role = 'input' AND {side}.lot_id IN :ids
  AND NOT EXISTS (SELECT 1 FROM event fix WHERE fix.corrects_event_id = i.event_id)
"""


def reachable(session: Session, lot_ids, direction: str) -> set:
    """Ids of the lots reachable from `lot_ids` (themselves included), going 'back' or 'forward'."""
    here, there = WALKS[direction]
    roots = list(lot_ids)
    if not roots:
        return set()
    statement = text(WALK).bindparams(bindparam("roots", expanding=True))
    return {row[0] for row in session.exec(statement, params={"roots": roots, "here": here, "there": there})}


@dataclass
class Link:
    event_id: int
    input_lot_id: int
    output_lot_id: int
    consumed: object
    consumed_unit: str
    produced: object
    produced_unit: str


def links_among(session: Session, lot_ids: set, direction: str) -> list:
    """The transformation links inside a traced set: those into its lots (back) or out of them (forward)."""
    if not lot_ids:
        return []
    statement = text(LINKS.format(side="o" if direction == "back" else "i")).bindparams(bindparam("ids", expanding=True))
    rows = session.exec(statement, params={"ids": list(lot_ids)}).all()
    return [Link(event_id, source, made, _exact(consumed), consumed_unit, _exact(produced), produced_unit)
            for event_id, source, made, consumed, consumed_unit, produced, produced_unit in rows
            if source in lot_ids and made in lot_ids]


def _exact(value) -> Decimal | None:
    """A quantity as the Decimal the column holds (SQLite hands plain SQL a float)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.001"))


def depths(root_id: int, links: list, direction: str) -> dict:
    """Steps from the root to each lot along the links (breadth first, so the shortest)."""
    graph = defaultdict(set)
    for link in links:
        a, b = (link.output_lot_id, link.input_lot_id) if direction == "back" else (link.input_lot_id, link.output_lot_id)
        graph[a].add(b)
    found, queue = {root_id: 0}, deque([root_id])
    while queue:
        current = queue.popleft()
        for neighbour in graph[current]:
            if neighbour not in found:
                found[neighbour] = found[current] + 1
                queue.append(neighbour)
    return found


@dataclass
class TracedLot:
    lot: Lot
    product: Product
    owner: Organization
    site: Site | None  # where it was harvested, or processed
    depth: int


@dataclass
class Trace:
    direction: str
    root: TracedLot
    lots: list
    links: list
    events: list  # (event, site, [(EventLot, Lot, Product)], shipment)
    organizations: dict  # id -> Organization
    receipts: list = field(default_factory=list)  # as shipments_of() gives them
    withdrawn: list = field(default_factory=list)  # Events of the chain declared erroneous

    def event_ids(self) -> list:
        """Every event of the chain, those declared erroneous included (an EPCIS export carries them with
        their error declarations, so that a partner who had them can set them aside)."""
        return [event.id for event, *_ in self.events] + [event.id for event in self.withdrawn]

    @property
    def lot_ids(self) -> set:
        return {item.lot.id for item in self.lots}

    def parties(self) -> set:
        """Organizations with a part in the chain: owners, those who recorded its events, shippers and receivers."""
        parties = {item.lot.organization_id for item in self.lots}
        parties |= {event.organization_id for event, *_ in self.events}
        for shipment in [entry[3] for entry in self.events if entry[3] is not None] + [row[0] for row in self.receipts]:
            parties |= {shipment.from_organization_id, shipment.to_organization_id}
        return parties


def trace(session: Session, lot: Lot, direction: str, viewer_id: int | None = None) -> Trace:
    """The chain of a lot as `viewer_id`'s organization may see it (None: an inspector or the operator).

    What one organization did with a lot outside this chain (a sale of the same paddy to someone else, that
    buyer's own records) is not part of it: see `custody`."""
    ids = reachable(session, [lot.id], direction)
    links = links_among(session, ids, direction)
    rows = session.exec(
        select(Lot, Product, Organization).join(Product, Product.id == Lot.product_id)
        .join(Organization, Organization.id == Lot.organization_id).where(Lot.id.in_(ids))).all()
    owners = {lot_.id: lot_.organization_id for lot_, _, _ in rows}
    history, withdrawn = recorded_history(session, ids, {lot_.batch_id for lot_, _, _ in rows if lot_.batch_id})
    shipped = shipped_in(history, withdrawn, ids)
    makers = {event.id: event.organization_id for event, *_ in history if event.step == "transformation"}
    held, links = custody(lot.id, direction, viewer_id, owners, links, makers, shipped)
    rows = [row for row in rows if row[0].id in held]
    chain = [entry for entry in history if _in_chain(entry, held, {link.event_id for link in links})]
    events = [entry for entry in chain if entry[0].id not in withdrawn]
    receipts = [row for row in shipped
                if _handled(held, row[3].id, {row[0].from_organization_id, row[0].to_organization_id})] \
        if direction == "forward" else []
    depth = depths(lot.id, links, direction)
    batch_sites = dict(session.exec(
        select(Batch.id, Site).join(Site, Site.id == Batch.site_id)
        .where(Batch.id.in_({lot_.batch_id for lot_, _, _ in rows if lot_.batch_id}))).all())
    made_at = {}
    for event, site, lines, _ in events:
        if event.step == "transformation":
            for line, made, _ in lines:
                if line.role == "output":
                    made_at[made.id] = site
    lots = sorted((TracedLot(lot_, product, owner, batch_sites.get(lot_.batch_id) or made_at.get(lot_.id),
                             depth.get(lot_.id, 0)) for lot_, product, owner in rows),
                  key=lambda item: (item.depth, item.product.name_vi, item.lot.code))
    result = Trace(direction, next(item for item in lots if item.lot.id == lot.id), lots, links, events,
                   {owner.id: owner for _, _, owner in rows}, receipts,
                   withdrawn=[entry[0] for entry in chain if entry[0].id in withdrawn])
    missing = result.parties() - result.organizations.keys()
    if missing:
        result.organizations.update(
            {o.id: o for o in session.exec(select(Organization).where(Organization.id.in_(missing)))})
    return result


def custody(root_id: int, direction: str, viewer_id: int | None, owners: dict, links: list, makers: dict,
            shipped: list) -> tuple:
    """(lot id -> the groups of organizations whose handling of it among themselves belongs to the chain, the
    links kept).

    A lot's custody runs along its shipments from its maker. Going back, a source lot's custody is the way
    it went from its maker to whoever transformed it into the chain. The root's is all of it for its
    maker and inspectors, and for anyone else the way to them and, forward, on from them: two groups, so that
    a shipment from one hand on the way to another the lot reached after the viewer (the maker's own sale to a
    shop the viewer also supplies) is not shown. Going forward, only what was made by an organization in
    custody of the lot it was made from is followed: for a viewer who is not the root's maker, by that viewer
    or those it passed the lot on to."""
    moves = defaultdict(list)
    for shipment, _received, _line, lot_, *_ in shipped:
        moves[lot_.id].append((shipment.from_organization_id, shipment.to_organization_id))

    def ahead(lot_id: int, starts: set) -> set:
        found, queue = set(starts), deque(starts)
        while queue:
            here = queue.popleft()
            for sender, receiver in moves[lot_id]:
                if sender == here and receiver not in found:
                    found.add(receiver)
                    queue.append(receiver)
        return found

    def way_to(lot_id: int, targets: set) -> set:
        """The maker, and those on a way from it to one of the targets."""
        reached = ahead(lot_id, {owners[lot_id]})
        found = set(targets) & reached
        queue = deque(found)
        while queue:
            here = queue.popleft()
            for sender, receiver in moves[lot_id]:
                if receiver == here and sender in reached and sender not in found:
                    found.add(sender)
                    queue.append(sender)
        return found | {owners[lot_id]}

    everyone = ahead(root_id, {owners[root_id]})
    if viewer_id is None or viewer_id == owners[root_id]:
        held, onward = {root_id: [everyone]}, everyone
    elif viewer_id in everyone:
        onward = ahead(root_id, {viewer_id}) if direction == "forward" else set()
        held = {root_id: [way_to(root_id, {viewer_id}), onward]}
    else:
        held, onward = {root_id: [{owners[root_id]}]}, set()
    if direction == "back":
        consumers = defaultdict(set)
        for link in links:
            consumers[link.input_lot_id].add(makers.get(link.event_id))
        for lot_id in owners:
            if lot_id != root_id:
                held[lot_id] = [way_to(lot_id, consumers[lot_id])]
        return held, links
    kept, following = [], defaultdict(list)
    for link in links:
        following[link.input_lot_id].append(link)
    queue = deque([root_id])
    while queue:
        lot_id = queue.popleft()
        for link in following[lot_id]:
            if makers.get(link.event_id) in (onward if lot_id == root_id else held[lot_id][0]):
                kept.append(link)
                if link.output_lot_id not in held:
                    held[link.output_lot_id] = [ahead(link.output_lot_id, {owners[link.output_lot_id]})]
                    queue.append(link.output_lot_id)
    return held, kept


def _in_chain(entry: tuple, held: dict, kept_links: set) -> bool:
    """An event belongs to the chain when it made or used a lot of it along a kept link, or was recorded by an
    organization in custody of one of its lots (both ends of a shipment in custody)."""
    event, _site, lines, shipment = entry
    if event.step == "transformation":
        return event.id in kept_links or any(line.role == "output" and line.lot_id in held for line, _, _ in lines)
    if not lines:
        return True  # field work on the batch a lot of the chain was harvested from
    parties = {event.organization_id}
    if shipment is not None:
        parties |= {shipment.from_organization_id, shipment.to_organization_id}
    return any(_handled(held, line.lot_id, parties) for line, _, _ in lines)


def _handled(held: dict, lot_id: int, parties: set) -> bool:
    """Whether the parties are all of one group in custody of the lot."""
    return any(parties <= group for group in held.get(lot_id, ()))


def event_ids(session: Session, lot_ids, batch_ids) -> list:
    """Ids of the events that name the lots or belong to the batches: two index lookups (an OR of the two in one
    query makes the database read the whole event table)."""
    found = set()
    if lot_ids:
        found |= set(session.exec(select(EventLot.event_id).where(EventLot.lot_id.in_(list(lot_ids)))).all())
    if batch_ids:
        found |= set(session.exec(select(Event.id).where(Event.batch_id.in_(list(batch_ids)))).all())
    return sorted(found)


def recorded_history(session: Session, lot_ids: set, batch_ids: set) -> tuple:
    """Events that touched the lots or the batches they were harvested from, oldest first, those declared
    erroneous included: ([(event, site, [(EventLot, Lot, Product)], shipment)], the ids of those declared erroneous)."""
    if not lot_ids and not batch_ids:
        return [], set()
    history, withdrawn = history_of(session, event_ids(session, lot_ids, batch_ids))
    # A transformation belongs to the chain only if it made one of its lots: another that used some of a
    # source lot for something else is that lot's business, not this chain's.
    return [entry for entry in history
            if entry[0].step != "transformation" or any(line.role == "output" and line.lot_id in lot_ids
                                                        for line, _, _ in entry[2])], withdrawn


def history_of(session: Session, ids) -> tuple:
    """([(event, site, [(EventLot, Lot, Product)], shipment)] oldest first, the ids of those declared erroneous)
    for the given events (error declarations themselves left out)."""
    rows = session.exec(select(Event, Site, Shipment, voided().label("voided"))
                        .outerjoin(Site, Site.id == Event.site_id)
                        .outerjoin(Shipment, Shipment.id == Event.shipment_id)
                        .where(Event.id.in_(list(ids)), Event.step != ERROR_DECLARATION)
                        .order_by(Event.event_time, Event.id)).all()
    lines = defaultdict(list)
    if rows:
        for line, lot_, product in session.exec(
                select(EventLot, Lot, Product).join(Lot, Lot.id == EventLot.lot_id)
                .join(Product, Product.id == Lot.product_id)
                .where(EventLot.event_id.in_([row[0].id for row in rows]))).all():
            lines[line.event_id].append((line, lot_, product))
    history = [(event, site, sorted(lines[event.id], key=lambda r: (r[0].role, r[2].name_vi, r[1].code)), shipment)
               for event, site, shipment, _ in rows]
    return history, {row[0].id for row in rows if row[3]}


def shipped_in(history: list, withdrawn: set, lot_ids: set) -> list:
    """shipments_of() the lots, read off their history (which holds every shipping and receiving event of them)."""
    receipts = {(event.shipment_id, line.lot_id): (event, line)
                for event, _site, lines, _shipment in history if event.step == "receiving" and event.id not in withdrawn
                for line, _lot, _product in lines}
    result = []
    for event, _site, lines, shipment in history:
        if event.step != "shipping" or event.id in withdrawn:
            continue
        for line, lot_, product in lines:
            if lot_.id in lot_ids:
                received, received_line = receipts.get((shipment.id, lot_.id), (None, None))
                result.append((shipment, received, line, lot_, product, received_line))
    return result


def shipments_of(session: Session, lot_ids: set) -> list:
    """Every shipment of the lots, with its receipt when there is one:
    (shipment, receiving event or None, shipped EventLot, Lot, Product, received EventLot or None)."""
    if not lot_ids:
        return []
    shipped = session.exec(
        select(Shipment, Event, EventLot, Lot, Product)
        .join(Event, (Event.shipment_id == Shipment.id) & (Event.step == "shipping"))
        .join(EventLot, EventLot.event_id == Event.id).join(Lot, Lot.id == EventLot.lot_id)
        .join(Product, Product.id == Lot.product_id)
        .where(EventLot.lot_id.in_(lot_ids), in_force(), Shipment.status != "cancelled")
        .order_by(Event.event_time, Shipment.id)).all()
    if not shipped:
        return []
    receipts = {}
    for event, line in session.exec(
            select(Event, EventLot).join(EventLot, EventLot.event_id == Event.id)
            .where(Event.shipment_id.in_({row[0].id for row in shipped}), Event.step == "receiving", in_force())).all():
        receipts[(event.shipment_id, line.lot_id)] = (event, line)
    result = []
    for shipment, _event, line, lot_, product in shipped:
        received_event, received_line = receipts.get((shipment.id, lot_.id), (None, None))
        result.append((shipment, received_event, line, lot_, product, received_line))
    return result


# --- the same trace for every reader: JSON for the API, a tree for the terminal ---

def _lot_entry(item: TracedLot) -> dict:
    return {"gtin": item.product.gtin, "lot": item.lot.code, "product": item.product.name_vi,
            "owner": item.owner.name, "owner_id": item.owner.id, "site": item.site.name if item.site else None,
            "quantity": plain(item.lot.quantity), "unit": item.lot.unit, "depth": item.depth,
            "produced_on": item.lot.produced_on.isoformat(), "kind": "harvest" if item.lot.batch_id else "processed"}


def trace_json(result: Trace) -> dict:
    organizations = {}
    for org_id, org in result.organizations.items():
        organizations[org_id] = {"id": org.id, "name": org.name, "kind": org.kind, "address": org.address,
                                 "roles": set(), "received": []}
    for item in result.lots:
        organizations[item.owner.id]["roles"].add("owner")
    events = []
    for event, site, lines, shipment in result.events:
        organizations[event.organization_id]["roles"].add("recorded events")
        entry = {"eventID": event.hash_id, "id": event.id, "step": event.step, "type": event.epcis_type,
                 "bizStep": event.biz_step,
                 "time": local_datetime(event.event_time, event.event_time_zone_offset).isoformat(timespec="minutes"),
                 "organization": result.organizations[event.organization_id].name,
                 "site": site.name if site else None,
                 "lots": [{"gtin": product.gtin, "lot": lot.code, "role": line.role,
                           "quantity": plain(line.quantity), "unit": line.unit} for line, lot, product in lines],
                 "details": event.details}
        if shipment is not None:
            entry["reference"] = {"type": shipment.reference_type, "number": shipment.reference,
                                  "from": result.organizations[shipment.from_organization_id].name,
                                  "to": result.organizations[shipment.to_organization_id].name}
        events.append(entry)
    for shipment, received, line, lot, product, received_line in result.receipts:
        organizations[shipment.to_organization_id]["roles"].add("receiver")
        organizations[shipment.to_organization_id]["received"].append({
            "gtin": product.gtin, "lot": lot.code, "product": product.name_vi,
            "shipped": plain(line.quantity), "quantity": plain(received_line.quantity) if received_line else None,
            "unit": line.unit, "status": "received" if received else "in_transit",
            "time": local_datetime(received.event_time, received.event_time_zone_offset).isoformat(timespec="minutes")
            if received else None,
            "reference": {"type": shipment.reference_type, "number": shipment.reference}})
    lot_key = {item.lot.id: {"gtin": item.product.gtin, "lot": item.lot.code} for item in result.lots}
    return {
        "direction": result.direction, "root": _lot_entry(result.root), "lots": [_lot_entry(i) for i in result.lots],
        "links": [{"from": lot_key[link.input_lot_id], "to": lot_key[link.output_lot_id],
                   "consumed": plain(link.consumed), "unit": link.consumed_unit,
                   "produced": plain(link.produced)} for link in result.links],
        "events": events,
        "organizations": [{**entry, "roles": sorted(entry["roles"])} for entry in organizations.values()
                          if entry["roles"]],
    }


def _graph(result: Trace) -> tuple:
    """(lot id -> TracedLot, lot id -> [(next lot id, link)] in the trace's direction, lot id -> its shipments)."""
    by_id = {item.lot.id: item for item in result.lots}
    children = defaultdict(list)
    for link in result.links:
        parent, child = ((link.output_lot_id, link.input_lot_id) if result.direction == "back"
                         else (link.input_lot_id, link.output_lot_id))
        children[parent].append((child, link))
    shipped = defaultdict(list)
    for shipment, received, line, lot, _product, received_line in result.receipts:
        shipped[lot.id].append((shipment, received, line, received_line))
    return by_id, children, shipped


def trace_tree(result: Trace) -> list:
    """The trace as indented lines, the root first; a lot met again on its own path is marked, not followed."""
    by_id, children, shipped = _graph(result)
    lines = []

    def describe(item: TracedLot) -> str:
        where = f" @ {item.site.name}" if item.site else ""
        return (f"{item.product.name_vi} [{item.product.gtin} / {item.lot.code}] {plain(item.lot.quantity)} "
                f"{item.lot.unit}, {item.lot.produced_on.isoformat()} – {item.owner.name}{where}")

    def walk(lot_id: int, prefix: str, path: set) -> None:
        for shipment, received, line, received_line in shipped.get(lot_id, []):
            receiver = result.organizations[shipment.to_organization_id].name
            state = (f"received {plain(received_line.quantity)} {line.unit}" if received else "in transit")
            lines.append(f"{prefix}→ shipped {plain(line.quantity)} {line.unit} to {receiver} "
                         f"({shipment.reference_type} {shipment.reference}; {state})")
        entries = sorted(children.get(lot_id, []), key=lambda pair: by_id[pair[0]].lot.code)
        for child, link in entries:
            verb = "used" if result.direction == "back" else "made into"
            amount = f"{plain(link.consumed)} {link.consumed_unit}"
            if child in path:
                lines.append(f"{prefix}└─ ({verb}, {amount}) {describe(by_id[child])} … already on this path")
                continue
            lines.append(f"{prefix}└─ ({verb}, {amount}) {describe(by_id[child])}")
            walk(child, prefix + "   ", path | {child})

    lines.append(describe(result.root))
    walk(result.root.lot.id, "", {result.root.lot.id})
    return lines


@dataclass
class Node:
    """One lot in the drawn chain, with the lots it leads to (back: made from; forward: made into)."""
    item: TracedLot
    amount: Decimal | None = None  # what the link consumed
    unit: str | None = None
    children: list = field(default_factory=list)
    repeated: bool = False  # already drawn higher on this path (bad data): not followed again
    shipments: list = field(default_factory=list)  # forward: (shipment, receiving event, line, received line)
    applications: list = field(default_factory=list)  # back: input applications of the batch it was harvested in


def tree(result: Trace) -> Node:
    """The trace as nested nodes, root first, for drawing."""
    by_id, children, shipped = _graph(result)
    applications = defaultdict(list)
    for event, _site, _lines, _shipment in result.events:
        if event.step == "input_application":
            applications[event.batch_id].append(event)

    def build(lot_id: int, path: frozenset, link=None) -> Node:
        item = by_id[lot_id]
        node = Node(item, link.consumed if link else None, link.consumed_unit if link else None,
                    shipments=shipped.get(lot_id, []), applications=applications.get(item.lot.batch_id, []))
        if lot_id in path:
            node.repeated = True
            return node
        for child, child_link in sorted(children.get(lot_id, []), key=lambda pair: by_id[pair[0]].lot.code):
            node.children.append(build(child, path | {lot_id}, child_link))
        return node

    return build(result.root.lot.id, frozenset())
