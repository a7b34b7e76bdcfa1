"""From YAML documents to the validated intermediate form (model.py), one module per document
kind over one BuildContext (context.py): documents.py reads and indexes the files, policy.py the
policy document and `build_policies`, then input_schema.py, rulesets.py, tables.py, scorecards.py
and limit.py the parts a policy is made of."""
from __future__ import annotations

from .policy import build_policies

__all__ = ["build_policies"]
