"""Observations and signals as DataFrames, already masked for the person who will see them.

Pages, the API and exports all read aggregates through `observations_for` or `masked_frame`, so
scope (`for_user`) and small-cell suppression (`privacy.mask_frame`) apply in one place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from equilean.metrics.models import Observation
from equilean.metrics.privacy import Viewer, blank_suppressed_groups, mask_frame
from equilean.org.roles import Action

COLUMNS = [
    "measure",
    "node",
    "node_name",
    "level",
    "grain",
    "period",
    "dimension",
    "group",
    "numerator",
    "denominator",
    "rate",
    "count",
    "mean",
    "median",
    "suppressed",
]


# Frame column -> the Observation field it is read from.
FIELDS = {
    "measure": "measure__code",
    "kind": "measure__kind",
    "per": "measure__per",
    "node": "node__code",
    "node_name": "node__name",
    "level": "node__level",
    "path": "node__path",
    **{
        name: name
        for name in (
            "grain",
            "period",
            "dimension",
            "group",
            "numerator",
            "denominator",
            "count",
            "mean",
            "median",
            "numerator_hidden",
            "denominator_hidden",
        )
    },
}


def observations_for(user, viewer: Viewer | None = None, **filters) -> pd.DataFrame:
    """The observations `user` may see, filtered by Django lookups, with `rate` computed and
    small cells hidden where the user lacks the permission to see them."""
    queryset = Observation.objects.for_user(user, Action.VIEW).filter(**filters)
    masked = masked_frame(queryset.values_list(*FIELDS.values()), viewer or Viewer(user))
    return masked.sort_values(
        ["measure", "node", "grain", "period", "dimension", "group"], ignore_index=True
    )


def masked_frame(records, viewer: Viewer) -> pd.DataFrame:
    """Observation `records` (tuples of the `FIELDS` values, e.g. one page of them) as a frame
    with `rate` computed and small cells hidden from `viewer` where they may not see them.

    A suppressed group's row loses all its counts, not only the hidden ones, so pages, the API
    and exports all show a group the viewer cannot compare the same way."""
    frame = pd.DataFrame.from_records(list(records), columns=list(FIELDS))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    continuous = frame["kind"].isin(["mean", "median"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = frame["numerator"].to_numpy(float) / frame["denominator"].to_numpy(float)
    frame["rate"] = np.where(continuous, np.nan, ratio * frame["per"].to_numpy(float))
    return blank_suppressed_groups(mask_frame(frame, viewer.unsuppressed_for(frame["path"])))
