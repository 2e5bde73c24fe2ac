"""The agents: enterprises, governments, universities and platforms.

Each module holds one kind's rule functions and its Mesa agent class.
"""

from agents.enterprise import Enterprise
from agents.government import Government
from agents.platform import Platform
from agents.university import University

__all__ = ["Enterprise", "Government", "Platform", "University"]
