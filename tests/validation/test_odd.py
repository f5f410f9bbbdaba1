"""docs/ODD.md is complete (Grimm et al. 2020) and its parameter tables are the generated ones."""

import re
from pathlib import Path

from experiments.validation.document import ODD_BEGIN, ODD_END, odd_tables
from model import PARAM_SPECS, Params

ODD = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"
ELEMENTS = (
    "Purpose and patterns",
    "Entities, state variables and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialisation",
    "Input data",
    "Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)


def text() -> str:
    return ODD.read_text(encoding="utf-8")


def test_odd_has_all_seven_elements_in_order():
    headings = re.findall(r"^## \d\. (.+)$", text(), flags=re.M)
    assert tuple(headings) == ELEMENTS


def test_odd_describes_all_eleven_design_concepts():
    doc = text()
    section = doc[doc.index("## 4. Design concepts") : doc.index("## 5. Initialisation")]
    for concept in DESIGN_CONCEPTS:
        assert f"**{concept}.**" in section, concept


def test_odd_parameter_tables_are_the_generated_ones():
    doc = text()
    table = doc[doc.index(ODD_BEGIN) + len(ODD_BEGIN) : doc.index(ODD_END)].strip()
    assert table == odd_tables(), "run `python -m experiments.validate --odd-table`"


def test_odd_lists_every_parameter_with_its_default():
    doc = text()
    defaults = Params()
    for s in PARAM_SPECS:
        assert f"| `{s.name}` | {getattr(defaults, s.name)!r} |" in doc, s.name
