"""The coding engine: Extraction (+ answers, payer) -> Proposal. Pure; never imports spaCy or Textual."""

from scribe.coding.engine import SEVERITY_ORDER, propose
from scribe.coding.rules import CodingRules, PayerProfile, UnknownPayerError, default_rules, payer_names

__all__ = ["SEVERITY_ORDER", "CodingRules", "PayerProfile", "UnknownPayerError", "default_rules", "payer_names",
           "propose"]
