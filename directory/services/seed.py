"""Loading the directory seed (fixtures/directory.json, built from the 2008 appendix).

Idempotent, and it never overwrites a site admin's work:

- Taxonomy, listings and referral resources have natural keys: a row already in the database is
  left exactly as it is; a missing one is created.
- Contacts, meetings, resource phones, review flags and the eight II.A-H criteria (unconfirmed:
  a person confirms them) have no natural key: they are created only with their new listing or
  resource, so an existing listing keeps what an admin corrected, removed or resolved.

So a second run creates nothing. A listing deleted outright comes back with its 2008 contacts,
hence listings are archived instead. One transaction: on any error nothing is written.
"""

import json
from collections import Counter

from django.apps import apps
from django.core import serializers
from django.core.serializers.base import DeserializationError
from django.db import DEFAULT_DB_ALIAS, transaction
from simple_history.utils import bulk_create_with_history

from directory.models import Criterion, CriterionConfirmation, Group, ReferralResource
from directory.services import search_terms

# The history of a seeded row says where it came from (history_change_reason, 100 chars).
SEED_REASON = "Seeded from policy 04.9's appendix (revised 2008-11-07)"
PARENTS = (Group, ReferralResource)


class FixtureError(Exception):
    """The fixture is not what build_directory_fixture writes."""


def _model(label, index):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError, TypeError):
        raise FixtureError(f"record {index}: {label!r} is not a model") from None


def _natural_key(model, fields: dict) -> tuple:
    plain = {
        f.name: fields[f.name]
        for f in model._meta.concrete_fields
        if not f.is_relation and f.name in fields
    }
    return model(**plain).natural_key()


class _Keys:
    """The primary key of each natural key met in this run, looked up once.

    Records are handed to Django's deserializer with their references already turned into
    primary keys, so it does not look each one up again (a listing names five taxonomies).
    """

    def __init__(self, using: str):
        self.using = using
        self.pks: dict[tuple[type, tuple], int | None] = {}

    def find(self, model, key: tuple) -> int | None:
        if (model, key) not in self.pks:
            manager = model._default_manager.db_manager(self.using)
            try:
                self.pks[model, key] = manager.get_by_natural_key(*key).pk
            except model.DoesNotExist:
                self.pks[model, key] = None
        return self.pks[model, key]

    def pk(self, model, key, where: str) -> int:
        if not isinstance(key, list | tuple):
            raise FixtureError(f"{where}: {key!r} is not a natural key")
        pk = self.find(model, tuple(key))
        if pk is None:
            raise FixtureError(f"{where}: no {model._meta.verbose_name} {tuple(key)!r}")
        return pk

    def resolve(self, model, fields: dict, where: str) -> dict:
        resolved = dict(fields)
        for field in [*model._meta.concrete_fields, *model._meta.many_to_many]:
            value = fields.get(field.name)
            if value is None or not field.is_relation:
                continue
            target = field.related_model
            if not hasattr(target, "natural_key"):
                continue
            label = f"{where} {field.name}"
            if field.many_to_many:
                if not isinstance(value, list):
                    raise FixtureError(f"{label}: expected a list of natural keys")
                resolved[field.name] = [self.pk(target, key, label) for key in value]
            else:
                resolved[field.name] = self.pk(target, value, label)
        return resolved


def _parent(model, fields: dict):
    """(parent model, natural key) of the listing or resource a child record belongs to."""
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model in PARENTS and fields.get(field.name):
            return field.related_model, tuple(fields[field.name])
    return None


def _create(obj, m2m_data: dict, using: str):
    obj._change_reason = SEED_REASON
    if not m2m_data:
        obj.save(using=using)
        return
    # Save, then add the many-to-many rows, without history; then one save records it. That
    # single history row is marked "created", so a seeded listing's history starts with one
    # entry that already shows its categories, needs and areas (not one entry per field).
    obj.skip_history_when_saving = True
    try:
        obj.save(using=using)
        for name, values in m2m_data.items():
            if values:
                getattr(obj, name).add(*values)
    finally:
        del obj.skip_history_when_saving
    history = getattr(type(obj), "history", None)
    if history is None:
        return
    obj.save(using=using)
    history.using(using).filter(**{obj._meta.pk.attname: obj.pk}).update(history_type="+")


def load_fixture(*, text: str, using: str = DEFAULT_DB_ALIAS) -> tuple[Counter, Counter]:
    """Create what is missing; return (created, left as they were) counts per model."""
    try:
        records = json.loads(text)
    except ValueError as exc:
        raise FixtureError(f"not JSON: {exc}") from None
    if not isinstance(records, list):
        raise FixtureError("expected a list of records")
    created, kept = Counter(), Counter()
    keys = _Keys(using)
    new_parents: set[tuple[type, tuple]] = set()
    criteria: list[CriterionConfirmation] = []
    # The listings' search words once at the end (search_terms.deferred): refreshed as each
    # list is added, they were then overwritten by the listing's own save that follows.
    with transaction.atomic(using=using), search_terms.deferred():
        for index, record in enumerate(records):
            if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
                raise FixtureError(f"record {index} is not a fixture record")
            model = _model(record.get("model"), index)
            where = f"record {index} ({record['model']})"
            fields = record["fields"]
            if hasattr(model, "natural_key"):
                key = _natural_key(model, fields)
                if keys.find(model, key) is not None:
                    kept[model] += 1
                    continue
            elif _parent(model, fields) not in new_parents:
                kept[model] += 1
                continue
            resolved = {"model": record["model"], "fields": keys.resolve(model, fields, where)}
            try:
                (item,) = serializers.deserialize("python", [resolved], using=using)
            except DeserializationError as exc:
                raise FixtureError(f"{where}: {exc}") from None
            obj = item.object
            _create(obj, item.m2m_data, using)
            created[model] += 1
            if hasattr(model, "natural_key"):
                keys.pks[model, key] = obj.pk
            if isinstance(obj, PARENTS):
                new_parents.add((model, key))
            if isinstance(obj, Group):
                # II.A-H: every new listing starts with each criterion unconfirmed.
                criteria += [
                    CriterionConfirmation(group=obj, criterion=criterion)
                    for criterion in Criterion.values
                ]
        if criteria:
            bulk_create_with_history(
                criteria, CriterionConfirmation, default_change_reason=SEED_REASON
            )
            created[CriterionConfirmation] += len(criteria)
    return created, kept
