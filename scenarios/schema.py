"""What a run is: the validated scenario schema.

Every parameter of the model lives here with its unit, default and allowed range;
`docs/ODD.md` explains each one and says where its default comes from. Money is in
million yuan, time in years (rates are per year and converted to per-step rates by
the model), shares and indices in [0, 1].
"""

from __future__ import annotations

import itertools
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
PerLevel = Annotated[list[NonNegative], Field(min_length=3, max_length=3)]
"""One value per upgrade step: 1->2, 2->3, 3->4."""
SharePerLevel = Annotated[list[Share], Field(min_length=3, max_length=3)]

LEVERS = ("talent", "funding", "ip", "platform")
PLATFORM_KINDS = ("public_service", "innovation_centre", "ecommerce")
INDUSTRIES = (
    "machinery",
    "hardware",
    "textiles_clothing",
    "home_appliances",
    "furniture",
    "auto_parts",
    "building_materials",
    "ceramics",
    "agriculture",
    "electronic_information",
    "creative_design",
    "ecommerce",
    "eco_tourism",
)
REGIONS = ("pearl_river_delta", "east", "west", "north")
LEVELS = (1, 2, 3, 4)
LEVEL_NAMES = ("traditional", "informational", "internet-based", "Internet+")
"""A firm's four digital levels and a town's four dimensions (Wang 2018), 1 to 4."""
STAGES = ("upstream", "midstream", "downstream")
"""A firm's place in its industry's chain."""
DEFAULT_SCENARIO = "baseline"
"""The scenario the command line and the app run when none is named."""
DEFAULT_SEED = 42
"""The seed the command line and the app use when none is given."""


def numbers_only(value: Any, annotation: Any) -> Any:
    """Refuse true/false and numbers written as text ("20") where a field holds numbers.

    pydantic would silently read them as 1 and 20; in a scenario they are
    mistakes. Lists and tables of numbers are checked item by item; other text
    is left to pydantic, which names the item.

    Raises:
        ValueError: Saying what was given instead of a number.
    """
    kind = _bare(annotation)
    inner = [_bare(arg) for arg in get_args(kind)]
    items: dict[Any, Any] = {}
    if kind in (int, float):
        items = {None: value}
    elif get_origin(kind) in (list, tuple) and isinstance(value, list | tuple):
        items = dict(enumerate(value)) if set(inner) <= {int, float, ...} else {}
    elif get_origin(kind) is dict and isinstance(value, dict):
        items = dict(value) if inner[-1] in (int, float) else {}
    for where, item in items.items():
        at = "" if where is None else f" (at {where!r})"
        if isinstance(item, bool):
            raise ValueError(f"Input should be a number, not true or false{at}")
        if isinstance(item, str) and _numeric_text(item):
            raise ValueError(
                f"Input should be a number, not the text {item!r}{at}; write it "
                "without quotes"
            )
    return value


def _numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _bare(annotation: Any) -> Any:
    """The type inside `Annotated[...]` and `X | None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


class Section(BaseModel):
    """A strict block of the scenario: unknown keys are errors, values are checked.

    Numbers must be finite, and given as numbers (`numbers_only`).
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return numbers_only(value, cls.model_fields[info.field_name].annotation)


def _non_decreasing(values: list[float], name: str) -> list[float]:
    if any(b < a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{name} must not decrease from one level to the next")
    return values


def _check_regions(values: dict[str, float]) -> None:
    unknown = sorted(set(values) - set(REGIONS))
    if unknown:
        raise ValueError(f"unknown region {unknown[0]!r}; allowed: {list(REGIONS)}")


class RunSettings(Section):
    """Clock and schedule of a run."""

    start_year: int = Field(2016, ge=1990, le=2100, description="year of the state")
    end_year: int = Field(2035, ge=1991, le=2200, description="last simulated year")
    steps_per_year: int = Field(4, ge=1, le=52, description="steps per year")
    schedule: Literal["vectorized", "agents"] = Field(
        "vectorized", description="vectorized arrays or Mesa's shuffle_do"
    )
    views: Literal["all", "lazy"] = Field(
        "all", description="make every firm's Mesa agent, or only those asked for"
    )


class ProvinceSettings(Section):
    """Towns, their network, regions and industries."""

    towns: int = Field(20, ge=1, le=5000, description="number of towns")
    firms_per_town: int = Field(
        100, ge=4, le=100_000, description="initial firm agents per town, on average"
    )
    min_firms_per_town: int = Field(
        20, ge=1, le=100_000, description="fewest firm agents a town starts with"
    )
    town_size_spread: float = Field(
        0.0, ge=0.0, le=4.0, description="s.d. of log town output at the start"
    )
    start_output: float | None = Field(
        None, gt=0, le=1e10, description="towns' output at the start, M yuan a year"
    )
    headroom: float = Field(
        0.5, ge=0.0, le=5.0, description="room for entrants, share of initial firms"
    )
    towns_per_city: int = Field(5, ge=1, le=100, description="towns sharing a city")
    same_industry_link: Share = Field(0.15, description="link prob., same industry")
    link_radius: float = Field(
        0.12, ge=0.0, le=2.0, description="towns closer than this are linked"
    )
    region_shares: dict[str, Share] = Field(
        default_factory=lambda: {
            "pearl_river_delta": 0.55,
            "east": 0.15,
            "west": 0.15,
            "north": 0.15,
        },
        description="share of towns in each region",
    )
    emerging_industry_share: Share = Field(
        0.2, description="share of towns led by an emerging industry"
    )
    related_industry_share: Share = Field(
        0.2, description="share of a town's firms outside its leading industry"
    )

    @field_validator("region_shares")
    @classmethod
    def _known_regions(cls, shares: dict[str, float]) -> dict[str, float]:
        _check_regions(shares)
        if abs(sum(shares.values()) - 1.0) > 1e-6:
            raise ValueError("region shares must add up to 1")
        return shares


class EconomySettings(Section):
    """Demand, productivity and costs."""

    productivity: float = Field(
        0.4, gt=0, le=100, description="output per worker-year, M yuan"
    )
    unit_cost: float = Field(
        0.85, gt=0, le=2, description="operating cost per unit of base output"
    )
    level_gain: float = Field(
        0.12, ge=0, le=2, description="output gain per digital level"
    )
    knowledge_gain: float = Field(
        0.3, ge=0, le=5, description="output gain at full knowledge"
    )
    market_growth: float = Field(
        0.03, ge=-0.2, le=0.5, description="yearly real growth of demand"
    )
    gdp_growth: dict[int, Annotated[float, Field(ge=-0.5, le=0.5)]] = Field(
        default_factory=dict,
        description="the province's yearly real GDP growth, by year; a year "
        "after the last one given keeps its value",
    )
    demand_elasticity: float = Field(
        0.0,
        ge=0,
        le=5,
        description="growth of the towns' demand per unit of the province's "
        "real GDP growth, on top of market_growth",
    )
    customized_start: Share = Field(
        0.1, description="customized demand share, lower asymptote"
    )
    customized_end: Share = Field(0.6, description="customized share, upper asymptote")
    customized_midyear: int = Field(2026, ge=1990, le=2200, description="year halfway")
    customized_speed: float = Field(
        0.25, gt=0, le=5, description="logistic speed, per year"
    )
    customized_fit: Annotated[
        list[Annotated[float, Field(ge=0, le=5)]], Field(min_length=4, max_length=4)
    ] = Field(
        default_factory=lambda: [0.3, 0.4, 1.0, 1.2],
        description="value captured from customized demand by level 1..4",
    )
    size_min: float = Field(10, gt=0, le=10_000, description="smallest firm, workers")
    size_tail: float = Field(
        1.1, gt=0.5, le=5, description="Pareto tail exponent of firm size"
    )
    size_max: float = Field(
        20_000, gt=1, le=1e7, description="largest firm at start, workers"
    )
    size_volatility: float = Field(
        0.1, ge=0, le=1, description="std. dev. of yearly log size growth"
    )
    initial_funds: float = Field(
        0.3, ge=0, le=10, description="funds at start, years of output"
    )
    entry_funds: float = Field(
        0.1, ge=0, le=10, description="funds of a start-up, years of output"
    )
    efficiency_spread: float = Field(
        0.2, ge=0, le=1, description="std. dev. of log firm efficiency (mean 1)"
    )
    tie_credit: float = Field(
        0.05, ge=0, le=1, description="trade credit per partner, years of base output"
    )
    platform_credit: float = Field(
        0.15, ge=0, le=1, description="platform financing, years of base output"
    )
    agent_share_max: float = Field(
        0.1, gt=0.0, le=1.0, description="largest share of town output at start"
    )
    base_exit: Share = Field(0.02, description="yearly exit hazard besides bankruptcy")
    exit_size_elasticity: float = Field(
        0.2, ge=0.0, le=2.0, description="fall of the exit hazard with log size"
    )
    exit_young_excess: float = Field(
        1.0, ge=0.0, le=20.0, description="extra exit hazard of a newborn, times base"
    )
    exit_young_years: float = Field(
        2.0, gt=0.0, le=50.0, description="years for a young firm's excess to fade"
    )
    entry_rate: Share = Field(0.05, description="yearly start-ups per firm, at best")
    talent_inflow: float = Field(
        0.004, ge=0, le=1, description="IT staff entering the pool, share of jobs/yr"
    )
    infrastructure_growth: Share = Field(
        0.08, description="yearly closing of the infrastructure gap"
    )
    infrastructure_start: dict[str, Share] = Field(
        default_factory=lambda: {
            "pearl_river_delta": 0.5,
            "east": 0.35,
            "west": 0.3,
            "north": 0.25,
        },
        description="digital infrastructure at start by region",
    )

    @field_validator("infrastructure_start")
    @classmethod
    def _all_regions(cls, levels: dict[str, float]) -> dict[str, float]:
        _check_regions(levels)
        defaults = cls.model_fields["infrastructure_start"].default_factory()
        return defaults | levels


class EnterpriseSettings(Section):
    """Adoption, talent, knowledge and collaboration rules of firms."""

    initial_levels: Annotated[list[Share], Field(min_length=4, max_length=4)] = Field(
        default_factory=lambda: [0.6, 0.34, 0.06, 0.0],
        description="share of firms at level 1..4 at start",
    )
    innovation_p: SharePerLevel = Field(
        default_factory=lambda: [0.03, 0.02, 0.01],
        description="Bass innovation coefficient per year, by step",
    )
    imitation_q: SharePerLevel = Field(
        default_factory=lambda: [0.38, 0.38, 0.38],
        description="Bass imitation coefficient per year, by step",
    )
    partner_weight: Share = Field(
        0.5, description="weight of partners (vs town peers) in imitation"
    )
    upgrade_cost: PerLevel = Field(
        default_factory=lambda: [0.02, 0.05, 0.08],
        description="cost of the step, M yuan per worker",
    )
    talent_needed: SharePerLevel = Field(
        default_factory=lambda: [0.02, 0.05, 0.09],
        description="IT talent share needed for the step",
    )
    absorptive_needed: SharePerLevel = Field(
        default_factory=lambda: [0.15, 0.3, 0.45],
        description="absorptive capacity needed for the step",
    )
    infrastructure_needed: SharePerLevel = Field(
        default_factory=lambda: [0.1, 0.45, 0.7],
        description="town infrastructure needed for the step",
    )
    subsidy_effect: float = Field(
        1.0, ge=0, le=10, description="hazard raise per unit subsidy rate"
    )
    platform_effect: float = Field(
        0.5, ge=0, le=10, description="hazard raise for platform members"
    )
    talent_start: Share = Field(0.02, description="mean IT talent share at start")
    talent_attrition: Share = Field(0.1, description="yearly loss of IT staff")
    it_wage: float = Field(0.12, ge=0, le=10, description="IT staff premium, M yuan/yr")
    talent_reference: float = Field(
        0.1, gt=0, le=1, description="talent share of full absorptive capacity"
    )
    knowledge_start: Share = Field(0.2, description="mean knowledge at start")
    rd_rate: Share = Field(0.02, description="yearly own knowledge growth")
    learning_rate: Share = Field(0.3, description="yearly gap closed along a tie")
    max_partners: int = Field(6, ge=1, le=50, description="tie slots per firm")
    search_rate: Share = Field(0.6, description="yearly partner searches")
    far_search: Share = Field(0.15, description="share of searches in other towns")
    tie_decay: Share = Field(0.2, description="yearly chance that a tie ends")
    tie_cost: float = Field(
        0.005, ge=0, le=0.2, description="yearly tie upkeep, share of base output"
    )
    tie_saving: float = Field(
        0.015, ge=0, le=0.15, description="cut of production cost per partner"
    )
    cross_border_level: int = Field(
        3, ge=1, le=4, description="level needed for cross-border ties"
    )
    trust_start: Share = Field(0.4, description="trust at start")
    trust_speed: Share = Field(0.3, description="yearly move of trust to its target")

    @field_validator("initial_levels")
    @classmethod
    def _shares_sum_to_one(cls, shares: list[float]) -> list[float]:
        if abs(sum(shares) - 1.0) > 1e-6:
            raise ValueError("initial level shares must add up to 1")
        return shares

    @field_validator(
        "upgrade_cost", "talent_needed", "absorptive_needed", "infrastructure_needed"
    )
    @classmethod
    def _rising(cls, values: list[float], info: object) -> list[float]:
        return _non_decreasing(values, getattr(info, "field_name", "values"))


class IPSettings(Section):
    """The two faces of intellectual-property protection."""

    legal_protection: Share = Field(
        0.3, description="protection from law alone, no spending"
    )
    enforcement_scale: float = Field(
        0.02, gt=0, le=1000, description="IP spending per firm-year closing 63% of gap"
    )
    sharing_floor: Share = Field(0.2, description="share revealed with no protection")
    leakage_max: Share = Field(0.3, description="yearly spillover with no protection")
    licence_cost: float = Field(
        0.5, ge=0, le=100, description="M yuan per knowledge unit and worker-1000"
    )


class UniversitySettings(Section):
    """Universities and research institutes."""

    per_region: int = Field(2, ge=0, le=50, description="universities per region")
    knowledge: Share = Field(0.7, description="knowledge of universities at start")
    knowledge_growth: Share = Field(0.01, description="yearly gain toward frontier")
    graduates: float = Field(
        40, ge=0, le=1e6, description="IT graduates per university-year, FTE"
    )
    project_capacity: int = Field(
        15, ge=0, le=100_000, description="joint projects at once"
    )
    project_years: float = Field(2.0, gt=0, le=20, description="length of a project")
    project_cost: float = Field(
        0.2, ge=0, le=100, description="firm's share, M yuan per year"
    )
    project_appetite: Share = Field(0.15, description="yearly chance a firm applies")
    project_learning: Share = Field(0.3, description="yearly gap closed in a project")


class PlatformSettings(Section):
    """Public service platforms, innovation centres and e-commerce platforms."""

    start_coverage: Share = Field(
        0.0, description="share of towns with a public service platform at start"
    )
    build_cost: PerLevel = Field(
        default_factory=lambda: [5.0, 15.0, 10.0],
        description="M yuan to build: public service, innovation centre, e-commerce",
    )
    member_cost: float = Field(
        0.1, gt=0, le=100, description="capital per member place, M yuan"
    )
    join_rate: Share = Field(0.3, description="yearly chance a firm joins if room")
    service_saving: Share = Field(
        0.05, description="cut of a member's production cost by shared services"
    )
    depreciation: Share = Field(0.1, description="yearly loss of platform capital")
    platform_learning: Share = Field(0.1, description="yearly gap closed via platform")
    search_boost: float = Field(
        1.0, ge=0, le=10, description="extra searches of members"
    )
    link_boost: float = Field(
        1.0, ge=0, le=10, description="extra far searches via linked platforms"
    )


class GovernmentSettings(Section):
    """Budget and how it is split over the four levers."""

    budget_share: Annotated[float, Field(ge=0, le=0.2)] = Field(
        0.003, description="yearly budget, share of town GDP"
    )
    province_budget: float = Field(
        0.0, ge=0, le=1e6, description="provincial programme, M yuan per town-year"
    )
    allocation: Literal["static", "adaptive"] = Field(
        "static", description="fixed weights, or the weakest system first"
    )
    talent: Share = Field(0.2, description="weight of the talent lever")
    funding: Share = Field(0.5, description="weight of the funding lever")
    ip: Share = Field(0.1, description="weight of the IP protection lever")
    platform: Share = Field(0.2, description="weight of the platform lever")
    talent_cost: float = Field(
        0.15, gt=0, le=100, description="M yuan per IT FTE attracted"
    )
    subsidy_cap: Share = Field(0.5, description="largest share of a cost subsidized")
    adaptive_tilt: Share = Field(
        0.5, description="budget share moved to the weakest system's lever"
    )

    @model_validator(mode="after")
    def _weights_positive(self) -> GovernmentSettings:
        if sum(self.weights().values()) <= 0:
            raise ValueError("at least one lever weight must be positive")
        return self

    def weights(self) -> dict[str, float]:
        """Return the lever weights normalised to sum to one."""
        raw = {lever: getattr(self, lever) for lever in LEVERS}
        total = sum(raw.values()) or 1.0
        return {lever: value / total for lever, value in raw.items()}


class PolicyChange(Section):
    """A change of government settings from a given year on."""

    year: int = Field(ge=1990, le=2200, description="first year it applies")
    budget_share: float | None = Field(None, ge=0, le=0.2)
    province_budget: float | None = Field(None, ge=0, le=1e6)
    allocation: Literal["static", "adaptive"] | None = None
    talent: Share | None = None
    funding: Share | None = None
    ip: Share | None = None
    platform: Share | None = None


class LadderSettings(Section):
    """When a town counts as having reached a dimension."""

    firm_share: Share = Field(
        0.5, description="share of firms at the level or above needed"
    )
    coordination_needed: SharePerLevel = Field(
        default_factory=lambda: [0.3, 0.45, 0.6],
        description="coupling coordination degree D needed for dimension 2..4",
    )
    external_needed: Share = Field(
        0.1, description="share of firms with cross-town ties for dimension 4"
    )


class PlanSettings(Section):
    """Targets the outputs are compared with (the province's 2020 plan by default)."""

    year: int = Field(2020, ge=1990, le=2200, description="year of the targets")
    gdp_target: float | None = Field(
        None, ge=0, description="output target, M yuan/yr (province-wide scenarios)"
    )
    coverage_target: Share = Field(
        0.9, description="share of towns with a collaborative-innovation platform"
    )


class ScaleSettings(Section):
    """How agents and their output map onto official statistics.

    The rules never read these: they convert the model's counts and output into
    the figures statistics report, so a scenario can be calibrated against them.
    """

    firms_per_agent: float = Field(
        1.0, ge=1.0, le=1e6, description="real enterprises one firm agent stands for"
    )
    gross_output_ratio: float = Field(
        1.0,
        ge=1.0,
        le=20.0,
        description="gross output value per yuan of model output (value added)",
    )


class CertificationSettings(Section):
    """Towns that join the province's list of professional towns during a run.

    Candidates are simulated from the start, smaller than the certified towns,
    without the towns' policy; each year end the largest of them join the list
    at a steady pace. Both counts are shares of `province.towns`, so a sample of
    towns keeps the proportions.
    """

    candidate_share: float = Field(
        0.0, ge=0.0, le=5.0, description="uncertified towns simulated, per town"
    )
    rate: float = Field(
        0.0, ge=0.0, le=1.0, description="towns certified per year, per town at start"
    )
    entrant_size: float = Field(
        0.5, gt=0.0, le=10.0, description="median candidate / median town output"
    )


class PriceSettings(Section):
    """The price path that turns the model's real output into current yuan.

    The model's output is value added at the prices of `run.start_year`
    (constant prices); no rule reads prices. Statistics and plan targets in
    current yuan are compared with output times `Scenario.price_index`.
    """

    deflator_growth: float = Field(
        0.01, ge=-0.2, le=0.5, description="yearly growth of the GDP deflator"
    )


class Scenario(Section):
    """A complete, validated description of one simulation run (less the seed)."""

    name: str = Field("default", max_length=80)
    description: str = ""
    run: RunSettings = Field(default_factory=RunSettings)
    province: ProvinceSettings = Field(default_factory=ProvinceSettings)
    economy: EconomySettings = Field(default_factory=EconomySettings)
    enterprise: EnterpriseSettings = Field(default_factory=EnterpriseSettings)
    ip: IPSettings = Field(default_factory=IPSettings)
    university: UniversitySettings = Field(default_factory=UniversitySettings)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    government: GovernmentSettings = Field(default_factory=GovernmentSettings)
    policy_changes: list[PolicyChange] = Field(default_factory=list)
    ladder: LadderSettings = Field(default_factory=LadderSettings)
    plan: PlanSettings = Field(default_factory=PlanSettings)
    scale: ScaleSettings = Field(default_factory=ScaleSettings)
    prices: PriceSettings = Field(default_factory=PriceSettings)
    certification: CertificationSettings = Field(default_factory=CertificationSettings)

    @model_validator(mode="after")
    def _years_in_order(self) -> Scenario:
        if self.run.end_year <= self.run.start_year:
            raise ValueError(
                f"run.end_year = {self.run.end_year} must be after "
                f"run.start_year = {self.run.start_year}"
            )
        return self

    @model_validator(mode="after")
    def _demand_above_collapse(self) -> Scenario:
        eco = self.economy
        for year in sorted(eco.gdp_growth):
            if (growth := self.demand_growth(year)) <= -1:
                raise ValueError(
                    f"economy.demand_elasticity = {eco.demand_elasticity} gives "
                    f"demand growth {growth:.3g} in {year}: allowed: above -1 "
                    "(demand cannot fall by 100% or more)"
                )
        return self

    @model_validator(mode="after")
    def _policy_changes_valid(self) -> Scenario:
        for n, change in enumerate(self.policy_changes):
            if not self.run.start_year < change.year <= self.run.end_year:
                raise ValueError(
                    f"policy_changes.{n}.year = {change.year}: must fall in the run, "
                    f"from {self.run.start_year + 1} to {self.run.end_year}"
                )
            try:
                self.government_in(change.year)
            except ValidationError as error:
                reason = error.errors()[0]["msg"].removeprefix("Value error, ")
                raise ValueError(
                    f"policy_changes.{n} (year {change.year}) leaves an invalid "
                    f"government: {reason}"
                ) from None
        return self

    @property
    def steps(self) -> int:
        """Number of steps from start to end year."""
        return (self.run.end_year - self.run.start_year) * self.run.steps_per_year

    @property
    def candidate_towns(self) -> int:
        """Uncertified towns simulated beside the certified ones."""
        share = self.certification.candidate_share
        return round(self.province.towns * share)

    @property
    def all_towns(self) -> int:
        """Towns the model simulates: the certified ones and the candidates."""
        return self.province.towns + self.candidate_towns

    def price_index(self, year: float) -> float:
        """Prices of `year` relative to those of `run.start_year` (1 at the start).

        Output times this index is output in current (nominal) yuan.
        """
        elapsed = year - self.run.start_year
        return float((1.0 + self.prices.deflator_growth) ** elapsed)

    def demand_growth(self, year: int) -> float:
        """Yearly real growth of the towns' demand in calendar `year`.

        `economy.market_growth` plus `economy.demand_elasticity` times the
        province's real GDP growth that year (`economy.gdp_growth`; the first
        given year's value before it, the last one's after it).
        """
        eco = self.economy
        if not eco.gdp_growth or eco.demand_elasticity == 0:
            return eco.market_growth
        known = sorted(eco.gdp_growth)
        at = max((y for y in known if y <= year), default=known[0])
        return eco.market_growth + eco.demand_elasticity * eco.gdp_growth[at]

    def government_in(self, year: int) -> GovernmentSettings:
        """Government settings in force in `year`, after the scheduled changes."""
        settings = self.government.model_dump()
        for change in sorted(self.policy_changes, key=lambda c: c.year):
            if change.year <= year:
                settings.update(change.model_dump(exclude={"year"}, exclude_none=True))
        return GovernmentSettings(**settings)
