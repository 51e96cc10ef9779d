"""The latest analysis of each seller account: its KPIs (README, "Analysis and cache"), also in Redis."""

from mongoengine import BooleanField, DateTimeField, DictField, Document, ListField, StringField

from models.stored import stored_in


class Analysis(Document):
    user_id = StringField(required=True)
    region = StringField(required=True)
    country = StringField(required=True)
    marketplace_id = StringField(required=True)
    #: ``<first day>--<last day>`` of the 30-day window analysed.
    period = StringField(required=True)
    computed_at = DateTimeField(required=True)
    kpis = DictField()
    #: False for a first look: the KPIs named in ``pending`` wait for the orders backfill.
    complete = BooleanField(default=True)
    pending = ListField(StringField())

    meta = stored_in("analyses", {"fields": ["user_id", "marketplace_id"], "unique": True})
