"""Studies: a YAML spec runs designs, triangulates them, decides launches and writes the documents.

study = at.Study.from_yaml("examples/homefeed.yaml")
study.run("reports/homefeed")          # or: attribution run examples/homefeed.yaml --out ...
"""

from attribution.study.api import Study
from attribution.study.spec import (
    Component,
    DataSource,
    DesignRun,
    DesignSpec,
    LaunchCriteria,
    Metric,
    StudySpec,
    TableSpec,
    load_spec,
)

__all__ = [
    "Component",
    "DataSource",
    "DesignRun",
    "DesignSpec",
    "LaunchCriteria",
    "Metric",
    "Study",
    "StudySpec",
    "TableSpec",
    "load_spec",
]
