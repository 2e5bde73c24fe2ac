"""The town-upgrading model: the Mesa Model, its columnar state and its measures."""

from model.model import TownModel

__all__ = ["TownModel"]
