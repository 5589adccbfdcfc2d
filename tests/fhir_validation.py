"""Strict validation of the FHIR Bundles the product writes, with a maintained FHIR library.

``fhir.resources`` (R4B models, pydantic): every element must exist in the resource's model
with the right type and cardinality, unknown elements are refused. What the models do not
check is checked here: the codes of the required bindings the export uses, and that every
reference resolves to an entry of the Bundle (``urn:uuid`` full URLs). Profile rules (US Core,
SDOHCC) are not checked by the models: the HL7 validator needs the network to load them.
"""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle

# Required bindings of R4 for the elements the export writes (code → allowed values).
REQUIRED_CODES = {
    ("Bundle", "type"): {"collection", "document", "message", "transaction", "batch"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("ServiceRequest", "status"): {
        "draft",
        "active",
        "on-hold",
        "revoked",
        "completed",
        "entered-in-error",
        "unknown",
    },
    ("ServiceRequest", "intent"): {
        "proposal",
        "plan",
        "directive",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    },
    ("Task", "status"): {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    },
    ("Task", "intent"): {
        "unknown",
        "proposal",
        "plan",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    },
    ("Task", "priority"): {"routine", "urgent", "asap", "stat"},
    ("Consent", "status"): {
        "draft",
        "proposed",
        "active",
        "rejected",
        "inactive",
        "entered-in-error",
    },
    ("OperationOutcome", "issue.severity"): {"fatal", "error", "warning", "information"},
}


def references(value):
    """Every ``reference`` string anywhere in a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def problems(document: dict) -> list[str]:
    """What is wrong with a Bundle, as sentences; empty when it is valid."""
    try:
        Bundle.model_validate(document)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        return [str(error)]
    found = []
    entries = document.get("entry", [])
    urls = [entry.get("fullUrl") for entry in entries]
    if len(urls) != len(set(urls)):
        found.append("two entries share a fullUrl")
    for entry in entries:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if entry.get("fullUrl") != f"urn:uuid:{resource.get('id')}":
            found.append(f"{kind}: fullUrl is not urn:uuid:<id>")
        for reference in references(resource):
            if reference not in urls:
                found.append(f"{kind}/{resource.get('id')}: {reference} is not in the Bundle")
        for (rtype, path), allowed in REQUIRED_CODES.items():
            if rtype != kind:
                continue
            values = [resource]
            for part in path.split("."):
                values = [
                    item
                    for value in values
                    for item in (
                        value.get(part, [])
                        if isinstance(value.get(part), list)
                        else [value[part]]
                        if part in value
                        else []
                    )
                ]
            found += [f"{kind}.{path}: {v!r} is not allowed" for v in values if v not in allowed]
    for (rtype, path), allowed in REQUIRED_CODES.items():
        if rtype == "Bundle" and document.get(path) not in allowed:
            found.append(f"Bundle.{path}: {document.get(path)!r} is not allowed")
    return found


def assert_valid_bundle(document: dict) -> None:
    found = problems(document)
    assert not found, "\n".join(found)
