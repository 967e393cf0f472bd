"""Demo data for the base CRM pack: a believable French and English sales organisation.

`seed_demo` fills an empty database with a few hundred linked records (users, accounts,
contacts, leads, opportunities, events, tasks, tickets, activity reports, contact lists)
through the record service, one set-based `create_many` batch per entity, so every row goes
through the same validation as user input. The same seed and day always give the same data.

Records are consistent with their workflow: statuses are set directly on create (the
system actor may), a converted lead links the account, contact and opportunity it became
(the opportunity links back), a lost lead has a reason, and fields a status sets on entry
(`on_enter`, such as an opportunity's probability) hold that value.

Relations are filled as a CRM user would: a meeting's attendees are contacts of its account
(its main contact among them) and its internal participants colleagues of the person in
charge; support calls, tasks and reports name the ticket they follow up, on the ticket's
account; contact lists (a newsletter, an invitation, campaign targets) hold contacts chosen
by what they are (language, function, account type, consent to emails).

Choice values and statuses are taken from the loaded `Model` (active codes only), so a
customer pack that retires a base value or re-models a pipeline does not break seeding.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

from metamodel.expressions.sandbox import ExpressionError, compile_expression

from engine.core.context import SYSTEM_ACTOR

Row = dict[str, Any]

DEMO_SIZES = {
    "account": 60,
    "contact": 150,
    "lead": 120,
    "opportunity": 50,
    "event": 120,
    "task": 80,
    "ticket": 40,
    "activity_report": 40,
    "contact_list": 6,
}
SUBSIDIARIES = 8
TIMED_EVENT_TYPES = ("phone_call", "meeting", "task", "demo")


# -- people, places and companies -------------------------------------------------------


@dataclass(frozen=True)
class Locale:
    language: str
    country: str
    first_names_female: tuple[str, ...]
    first_names_male: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]
    """(city, postal code) pairs."""
    streets: tuple[str, ...]
    phone_prefix: str
    domain_suffix: str
    legal_forms: tuple[str, ...]


FRANCE = Locale(
    language="fr",
    country="France",
    first_names_female=("Camille", "Léa", "Chloé", "Manon", "Inès", "Sarah", "Julie", "Pauline", "Élodie", "Nathalie",
                        "Isabelle", "Céline", "Aurélie", "Sandrine", "Margaux", "Anaïs"),
    first_names_male=("Nicolas", "Julien", "Thomas", "Antoine", "Maxime", "Hugo", "Louis", "Mathieu", "François",
                      "Sébastien", "Olivier", "Laurent", "Guillaume", "Jérôme", "Benoît", "Arnaud"),
    last_names=("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
                "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
                "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
                "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel",
                "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine",
                "Chevalier", "Robin", "Masson"),
    cities=(("Paris", "75008"), ("Lyon", "69002"), ("Marseille", "13001"), ("Toulouse", "31000"),
            ("Nantes", "44000"), ("Bordeaux", "33000"), ("Lille", "59000"), ("Strasbourg", "67000"),
            ("Rennes", "35000"), ("Montpellier", "34000"), ("Grenoble", "38000"), ("Nice", "06000"),
            ("Dijon", "21000"), ("Angers", "49000"), ("Reims", "51100")),
    streets=("rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue du Général de Gaulle",
             "place de la Mairie", "rue Pasteur", "avenue de la Gare", "rue des Lilas", "quai des Chartrons",
             "rue Nationale", "allée des Tilleuls", "rue du Commerce"),
    phone_prefix="+33",
    domain_suffix="fr",
    legal_forms=("SA", "SAS", "SARL", ""),
)

BRITAIN = Locale(
    language="en",
    country="United Kingdom",
    first_names_female=("Olivia", "Amelia", "Emily", "Charlotte", "Sophie", "Grace", "Hannah", "Jessica", "Lucy",
                        "Rachel", "Helen", "Victoria"),
    first_names_male=("Oliver", "George", "Harry", "Jack", "James", "William", "Daniel", "Matthew", "Edward",
                      "Samuel", "Richard", "Andrew"),
    last_names=("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
                "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
                "Clarke", "Hughes", "Edwards", "Turner", "Cooper", "Harris", "Ward", "Morris", "Baker"),
    cities=(("London", "EC1A 1BB"), ("Manchester", "M1 1AE"), ("Birmingham", "B1 1AA"), ("Leeds", "LS1 4AP"),
            ("Bristol", "BS1 4DJ"), ("Edinburgh", "EH1 1YZ"), ("Glasgow", "G1 1XQ"), ("Cambridge", "CB2 1TN"),
            ("Oxford", "OX1 2JD")),
    streets=("High Street", "Station Road", "Church Lane", "Victoria Road", "King Street", "Queen's Road",
             "Park Avenue", "Mill Lane", "London Road", "Market Place"),
    phone_prefix="+44",
    domain_suffix="co.uk",
    legal_forms=("Ltd", "plc", "Group", ""),
)

LOCALES = (FRANCE, FRANCE, FRANCE, BRITAIN, BRITAIN)
"""Weighted: three French records for two British ones."""

COMPANY_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # sector code -> (French activity words, English activity words)
    "agriculture": (("Coopérative agricole", "Vergers", "Domaine"), ("Farms", "Agri Supplies", "Orchards")),
    "banking": (("Banque", "Assurances", "Mutuelle"), ("Bank", "Insurance", "Capital")),
    "construction": (("Bâtiment", "Travaux publics", "Constructions"), ("Builders", "Construction", "Civil Works")),
    "education": (("Institut", "École", "Formation"), ("Academy", "College", "Learning")),
    "energy": (("Énergies", "Solaire", "Éolien"), ("Energy", "Power", "Renewables")),
    "healthcare": (("Clinique", "Laboratoires", "Pharma"), ("Healthcare", "Medical", "Pharma")),
    "hospitality": (("Hôtels", "Restauration", "Brasseries"), ("Hotels", "Catering", "Inns")),
    "industry": (("Industries", "Mécanique", "Usinage"), ("Manufacturing", "Engineering", "Industries")),
    "it": (("Informatique", "Logiciels", "Numérique"), ("Software", "Systems", "Digital")),
    "media": (("Médias", "Éditions", "Communication"), ("Media", "Publishing", "Studios")),
    "public_sector": (("Communauté de communes", "Syndicat mixte", "Agence régionale"),
                      ("Borough Council", "County Council", "Regional Agency")),
    "retail": (("Distribution", "Magasins", "Boutiques"), ("Retail", "Stores", "Shops")),
    "services": (("Conseil", "Services", "Partenaires"), ("Consulting", "Services", "Partners")),
    "telecom": (("Télécom", "Réseaux", "Fibre"), ("Telecom", "Networks", "Connect")),
    "transport": (("Transports", "Logistique", "Messagerie"), ("Logistics", "Freight", "Haulage")),
}
DEFAULT_WORDS = (("Entreprise", "Groupe", "Services"), ("Company", "Group", "Services"))

USERS = (
    # username, display name, team, language, active
    ("claire.martin", "Claire Martin", "sales_france", "fr", True),
    ("julien.bernard", "Julien Bernard", "sales_france", "fr", True),
    ("sophie.dubois", "Sophie Dubois", "key_accounts", "fr", True),
    ("james.walker", "James Walker", "sales_export", "en", True),
    ("emily.clarke", "Emily Clarke", "marketing", "en", True),
    ("thomas.petit", "Thomas Petit", "customer_support", "fr", True),
    ("olivia.hughes", "Olivia Hughes", "customer_support", "en", True),
    ("marc.lefebvre", "Marc Lefebvre", "management", "fr", False),
)
SALES_TEAMS = ("sales_france", "sales_export", "key_accounts", "marketing")
SUPPORT_TEAMS = ("customer_support",)

PRODUCTS = (
    ("CRM licences", "Licences CRM"),
    ("Support contract", "Contrat de support"),
    ("Consulting days", "Jours de conseil"),
    ("User training", "Formation des utilisateurs"),
    ("Hosting renewal", "Renouvellement de l'hébergement"),
    ("Integration project", "Projet d'intégration"),
    ("Data migration", "Reprise de données"),
    ("Mobile app roll-out", "Déploiement de l'application mobile"),
)

TASK_SUBJECTS = (
    ("Send the proposal", "Envoyer la proposition"),
    ("Prepare the quote", "Préparer le devis"),
    ("Call back about the contract", "Rappeler au sujet du contrat"),
    ("Book a product demonstration", "Planifier une démonstration"),
    ("Update the account details", "Mettre à jour la fiche du compte"),
    ("Check the invoice", "Vérifier la facture"),
    ("Send the meeting minutes", "Envoyer le compte rendu de réunion"),
    ("Follow up on the trial", "Relancer après la période d'essai"),
    ("Renew the maintenance contract", "Renouveler le contrat de maintenance"),
    ("Introduce the new account manager", "Présenter le nouveau responsable de compte"),
)

TICKET_SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "question": (("How do I export my contacts?", "Comment exporter mes contacts ?"),
                 ("Question about user roles", "Question sur les rôles utilisateurs")),
    "incident": (("Login page returns an error", "La page de connexion renvoie une erreur"),
                 ("Synchronisation stopped overnight", "La synchronisation s'est arrêtée cette nuit"),
                 ("Reports are very slow", "Les rapports sont très lents")),
    "feature_request": (("Add a field to the quote form", "Ajouter un champ au formulaire de devis"),
                        ("Calendar integration", "Intégration avec l'agenda")),
    "billing": (("Invoice sent twice", "Facture reçue en double"),
                ("Change of billing address", "Changement d'adresse de facturation")),
    "complaint": (("Late delivery of the project", "Retard de livraison du projet"),
                  ("Unanswered support request", "Demande de support restée sans réponse")),
    "training": (("Training session for new users", "Session de formation pour les nouveaux utilisateurs"),
                 ("Administrator training", "Formation administrateur")),
}
DEFAULT_TICKET_SUBJECTS = (("Customer request", "Demande client"),)


def seed_demo(engine: Any, *, seed: int = 0, today: dt.date | None = None) -> dict[str, int]:
    """Fill an empty database with demo records; returns how many were created per entity.

    Does nothing and returns {} when users already exist, so running it twice is safe.
    `today` anchors every date (default: the engine's clock), so the same seed and day give
    the same data.
    """
    records = engine.records
    if records.count("user") > 0:
        return {}
    seeder = _Seeder(engine, random.Random(seed), today or _engine_today(engine))
    return seeder.run()


def _engine_today(engine: Any) -> dt.date:
    clock = getattr(engine.records, "clock", None)
    now = clock() if callable(clock) else dt.datetime.now(dt.timezone.utc)
    return now.date()


# -- the seeder --------------------------------------------------------------------------


@dataclass
class _Company:
    id: int
    name: str
    locale: Locale
    domain: str
    city: str
    postal_code: str
    street: str
    owner: int
    account_type: str
    sector: str
    contacts: list[int]


class _Seeder:
    """Builds the rows entity by entity, keeping what later entities link to."""

    def __init__(self, engine: Any, rng: random.Random, today: dt.date):
        self.engine = engine
        self.model = engine.model
        self.rng = rng
        self.today = today
        self.now = dt.datetime.combine(today, dt.time(12, 0))
        self.counts: dict[str, int] = {}
        self.used_company_names: set[str] = set()
        self.used_emails: set[str] = set()

    def run(self) -> dict[str, int]:
        self.seed_users()
        self.seed_accounts()
        self.seed_contacts()
        self.seed_leads()
        self.seed_opportunities()
        self.link_converted_leads()
        self.seed_tickets()  # before the events, tasks and reports that follow them up
        self.seed_events()
        self.seed_tasks()
        self.seed_activity_reports()
        self.seed_contact_lists()
        return dict(self.counts)

    def create(self, entity: str, rows: Sequence[Row]) -> list[int]:
        ids = self.engine.records.create_many(entity, rows, SYSTEM_ACTOR)
        self.counts[entity] = self.counts.get(entity, 0) + len(ids)
        return ids

    # -- value helpers ---------------------------------------------------------------

    def codes(self, list_name: str) -> list[str]:
        """Active codes of a value list, in list order."""
        return [v.code for v in self.model.value_list(list_name).values if not v.retired]

    def code(self, list_name: str, preferred: str | None = None) -> str:
        """`preferred` when it is an active code of the list, otherwise a random active one."""
        codes = self.codes(list_name)
        return preferred if preferred in codes else self.rng.choice(codes)

    def some_codes(self, list_name: str, most: int) -> list[str]:
        codes = self.codes(list_name)
        return sorted(self.rng.sample(codes, self.rng.randint(0, min(most, len(codes)))), key=codes.index)

    def weighted(self, options: dict[str, int]) -> str:
        choices = list(options)
        return self.rng.choices(choices, weights=[options[c] for c in choices])[0]

    def status(self, workflow: str, weights: dict[str, int]) -> str:
        """A status of `workflow` drawn by `weights`; statuses a customer pack added weigh 10."""
        codes = [s.code for s in self.model.workflow(workflow).statuses]
        return self.weighted({code: weights.get(code, 10) for code in codes})

    def is_open(self, workflow: str, code: str) -> bool:
        return self.model.workflow(workflow).status(code).open

    def entered_value(self, workflow: str, code: str, field: str, otherwise: Any) -> Any:
        """The value the status's `on_enter` gives `field` when it is a constant, else `otherwise`."""
        source = self.model.workflow(workflow).status(code).on_enter.get(field)
        if source is None:
            return otherwise
        try:
            return compile_expression(source, ()).evaluate({})
        except ExpressionError:
            return otherwise

    def money(self, low: int, high: int, step: int = 100) -> Decimal:
        return Decimal(self.rng.randrange(low, high + 1, step)).quantize(Decimal("0.01"))

    def digits(self, count: int) -> str:
        return "".join(str(self.rng.randint(0, 9)) for _ in range(count))

    def phone(self, locale: Locale, mobile: bool = False) -> str:
        if locale is FRANCE:
            first = self.rng.choice("67") if mobile else self.rng.choice("12345")
            return f"+33 {first} {' '.join(self.digits(2) for _ in range(4))}"
        first = "7" + self.digits(3) if mobile else "20 " + self.digits(2)
        return f"+44 {first} {self.digits(3)} {self.digits(3)}"

    def person(self, locale: Locale) -> tuple[str, str, bool]:
        """(first name, last name, female)."""
        female = self.rng.random() < 0.5
        first = self.rng.choice(locale.first_names_female if female else locale.first_names_male)
        return first, self.rng.choice(locale.last_names), female

    def email(self, first: str, last: str, domain: str) -> str:
        base = f"{_ascii(first)}.{_ascii(last)}"
        candidate, n = f"{base}@{domain}", 1
        while candidate in self.used_emails:
            n += 1
            candidate = f"{base}{n}@{domain}"
        self.used_emails.add(candidate)
        return candidate

    def company_name(self, locale: Locale, sector: str) -> str:
        french, english = COMPANY_WORDS.get(sector, DEFAULT_WORDS)
        for attempt in range(1000):
            word = self.rng.choice(french if locale is FRANCE else english)
            surname = self.rng.choice(locale.last_names)
            legal = self.rng.choice(locale.legal_forms)
            if sector == "public_sector":
                name = f"{word} de {self.rng.choice(locale.cities)[0]}" if locale is FRANCE \
                    else f"{self.rng.choice(locale.cities)[0]} {word}"
            else:
                name = f"{word} {surname}" if locale is FRANCE else f"{surname} {word}"
                name = f"{name} {legal}".strip()
            if attempt >= 100:
                name = f"{name} {attempt}"
            if name not in self.used_company_names:
                self.used_company_names.add(name)
                return name
        raise RuntimeError("no unused company name left")

    def day(self, start: int, end: int) -> dt.date:
        """A weekday between today + start and today + end days (a range of at least a week)."""
        when = self.today + dt.timedelta(days=self.rng.randint(start, end))
        if when.weekday() >= 5:
            monday = when + dt.timedelta(days=7 - when.weekday())
            friday = when - dt.timedelta(days=when.weekday() - 4)
            when = monday if monday <= self.today + dt.timedelta(days=end) else friday
        return when

    def moment(self, start: int, end: int) -> dt.datetime:
        """A working-hours time (quarter hours, naive UTC) between today + start and today + end days."""
        hour, quarter = self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))
        return dt.datetime.combine(self.day(start, end), dt.time(hour, quarter))

    def label(self, locale: Locale, pair: tuple[str, str]) -> str:
        return pair[1] if locale is FRANCE else pair[0]

    # -- users -----------------------------------------------------------------------

    def seed_users(self) -> None:
        rows = [
            {
                "username": username,
                "display_name": name,
                "email": f"{username}@ossature-demo.com",
                "phone": self.phone(FRANCE if lang == "fr" else BRITAIN),
                "team": self.code("teams", team),
                "language": self.code("languages", lang),
                "active": active,
            }
            for username, name, team, lang, active in USERS
        ]
        ids = self.create("user", rows)
        self.sales_users = [i for i, u in zip(ids, USERS) if u[4] and u[2] in SALES_TEAMS]
        self.support_users = [i for i, u in zip(ids, USERS) if u[4] and u[2] in SUPPORT_TEAMS]
        self.user_ids = [i for i, u in zip(ids, USERS) if u[4]]

    # -- accounts --------------------------------------------------------------------

    def seed_accounts(self) -> None:
        sectors = self.codes("sectors")
        main_rows, main_meta = [], []
        for _ in range(DEMO_SIZES["account"] - SUBSIDIARIES):
            locale = self.rng.choice(LOCALES)
            sector = self.rng.choice(sectors)
            row, meta = self.account_row(locale, sector, self.company_name(locale, sector))
            main_rows.append(row)
            main_meta.append(meta)
        self.companies = _companies(self.create("account", main_rows), main_meta)

        parents = self.rng.sample([c for c in self.companies if c.account_type == "customer"] or self.companies,
                                  SUBSIDIARIES)
        sub_rows, sub_meta = [], []
        for parent in parents:
            place = self.rng.choice(parent.locale.cities)
            row, meta = self.account_row(parent.locale, parent.sector, f"{parent.name} - {place[0]}", place)
            row.update(parent=parent.id, account_type=parent.account_type, assigned_to=parent.owner,
                       website=f"https://www.{parent.domain}", email=f"{_ascii(place[0])}@{parent.domain}")
            meta.update(domain=parent.domain, owner=parent.owner, account_type=parent.account_type)
            sub_rows.append(row)
            sub_meta.append(meta)
        self.companies += _companies(self.create("account", sub_rows), sub_meta)

    def account_row(
        self, locale: Locale, sector: str, name: str, place: tuple[str, str] | None = None
    ) -> tuple[Row, dict[str, Any]]:
        city, postal_code = place or self.rng.choice(locale.cities)
        street = f"{self.rng.randint(1, 180)} {self.rng.choice(locale.streets)}"
        domain = f"{_slug(name)}.{locale.domain_suffix}"
        account_type = self.code("account_types", self.weighted(
            {"customer": 40, "prospect": 35, "partner": 8, "supplier": 10, "competitor": 3, "other": 4}))
        employees = min(int(self.rng.lognormvariate(4, 1.6)), 1_000_000)
        revenue = Decimal(employees * self.rng.randrange(60_000, 250_000, 1_000)).quantize(Decimal("0.01"))
        owner = self.rng.choice(self.sales_users)
        row: Row = {
            "name": name,
            "account_type": account_type,
            "kind": self.code("account_kinds", "public_body" if sector == "public_sector" else "company"),
            "sector": sector,
            "language": self.code("languages", locale.language),
            "phone": self.phone(locale),
            "email": f"contact@{domain}",
            "website": f"https://www.{domain}",
            "street": street,
            "postal_code": postal_code,
            "city": city,
            "country": locale.country,
            "employees": employees,
            "annual_revenue": revenue if employees > 5 else None,
            "key_account": employees > 500 and account_type == "customer",
            "tags": self.some_codes("tags", 2),
            "assigned_to": owner,
            "description": f"<p>{name} ({city}).</p>",
        }
        meta = {"name": name, "locale": locale, "domain": domain, "city": city, "postal_code": postal_code,
                "street": street, "owner": owner, "account_type": account_type, "sector": sector}
        return {k: v for k, v in row.items() if v is not None}, meta

    # -- contacts --------------------------------------------------------------------

    def seed_contacts(self) -> None:
        rows, owners = [], []
        for n in range(DEMO_SIZES["contact"]):
            company = self.companies[n % len(self.companies)] if n < len(self.companies) \
                else self.rng.choice(self.companies)
            first, last, female = self.person(company.locale)
            row: Row = {
                "salutation": self.code("salutations", "mrs" if female else "mr"),
                "first_name": first,
                "last_name": last,
                "function": self.rng.choice(self.codes("functions")),
                "department": self.rng.choice(self.codes("departments")),
                "account": company.id,
                "language": self.code("languages", company.locale.language),
                "phone": self.phone(company.locale),
                "mobile": self.phone(company.locale, mobile=True),
                "email": self.email(first, last, company.domain),
                "street": company.street,
                "postal_code": company.postal_code,
                "city": company.city,
                "country": company.locale.country,
                "do_not_call": self.rng.random() < 0.05,
                "do_not_email": self.rng.random() < 0.05,
                "assigned_to": company.owner,
            }
            if self.rng.random() < 0.3:
                home_city, home_postal_code = self.rng.choice(company.locale.cities)
                row.update(
                    home_street=f"{self.rng.randint(1, 90)} {self.rng.choice(company.locale.streets)}",
                    home_postal_code=home_postal_code,
                    home_city=home_city,
                    home_country=company.locale.country,
                    home_phone=self.phone(company.locale),
                    personal_email=self.email(first, last, "example.net"),
                )
            if self.rng.random() < 0.4:
                year, month, day = self.rng.randint(1955, 2000), self.rng.randint(1, 12), self.rng.randint(1, 28)
                row["birthday"] = dt.date(year, month, day)
            rows.append(row)
            owners.append(company)
        self.contact_rows: dict[int, Row] = {}
        for contact_id, company, row in zip(self.create("contact", rows), owners, rows):
            company.contacts.append(contact_id)
            self.contact_rows[contact_id] = row

    # -- leads -----------------------------------------------------------------------

    def seed_leads(self) -> None:
        sectors = self.codes("sectors")
        # converted leads became an account and a contact of the demo: one company each
        convertible = [c for c in self.companies if c.contacts and c.account_type in ("customer", "prospect")]
        self.rng.shuffle(convertible)
        rows: list[Row] = []
        for _ in range(DEMO_SIZES["lead"]):
            status = self.status("lead", {"new": 35, "qualification_call": 25, "commercial_qualification": 15,
                                          "converted": 10, "lost": 15})
            won = self.model.workflow("lead").status(status).won
            if won and not convertible:
                status, won = self.model.workflow("lead").initial.code, False
            row = self.converted_lead_row(convertible.pop()) if won else self.lead_row()
            if won:
                row["sector"] = row["sector"] if row["sector"] in sectors else self.rng.choice(sectors)
            qualified = won or status == "commercial_qualification"
            created_days_ago = self.rng.randint(1, 180)
            row.update(
                source=self.rng.choice(self.codes("lead_sources")),
                category=self.rng.choice(self.codes("lead_categories")),
                tags=self.some_codes("tags", 3),
                score=self.rng.randint(3, 5) if qualified else self.rng.randint(0, 4),
                key_account=self.rng.random() < 0.1,
                nurturing=self.is_open("lead", status) and not qualified and self.rng.random() < 0.25,
                team=self.code("teams", self.weighted({"sales_france": 3, "sales_export": 2, "key_accounts": 1})),
                status=status,
            )
            if self.rng.random() < 0.5:
                row["budget"] = self.money(1_000, 150_000, 500)
            if qualified:
                row["qualified_on"] = self.today - dt.timedelta(days=self.rng.randint(0, created_days_ago))
            if won:
                row["converted_on"] = min(row["qualified_on"] + dt.timedelta(days=self.rng.randint(0, 20)), self.today)
            if self.model.workflow("lead").status(status).lost:
                row["lost_reason"] = self.rng.choice(self.codes("lost_reasons"))
            rows.append(row)
        ids = self.create("lead", rows)
        self.lead_ids = ids
        self.converted_leads = [(i, r) for i, r in zip(ids, rows) if "converted_account" in r]

    def lead_row(self) -> Row:
        locale = self.rng.choice(LOCALES)
        sector = self.rng.choice(self.codes("sectors"))
        company = self.company_name(locale, sector)
        first, last, _female = self.person(locale)
        city, postal_code = self.rng.choice(locale.cities)
        row: Row = {
            "first_name": first,
            "last_name": last,
            "company": company,
            "function": self.rng.choice(self.codes("functions")),
            "department": self.rng.choice(self.codes("departments")),
            "sector": sector,
            "company_size": self.rng.choice(self.codes("company_sizes")),
            "phone": self.phone(locale),
            "email": self.email(first, last, f"{_slug(company)}.{locale.domain_suffix}"),
            "website": f"https://www.{_slug(company)}.{locale.domain_suffix}",
            "street": f"{self.rng.randint(1, 180)} {self.rng.choice(locale.streets)}",
            "postal_code": postal_code,
            "city": city,
            "country": locale.country,
            "assigned_to": self.rng.choice(self.sales_users),
            "description": "<p>" + self.label(locale, ("Interested in our offer.", "Intéressé par notre offre.")) + "</p>",
        }
        if self.rng.random() < 0.6:
            row["mobile"] = self.phone(locale, mobile=True)
        return row

    def converted_lead_row(self, company: _Company) -> Row:
        """The lead an account and one of its contacts came from: same names and details."""
        contact_id = self.rng.choice(company.contacts)
        contact = self.contact_rows[contact_id]
        row: Row = {name: contact[name] for name in
                    ("first_name", "last_name", "function", "department", "phone", "mobile", "email")}
        row.update(
            company=company.name,
            sector=company.sector,
            company_size=self.rng.choice(self.codes("company_sizes")),
            website=f"https://www.{company.domain}",
            street=company.street,
            postal_code=company.postal_code,
            city=company.city,
            country=company.locale.country,
            assigned_to=company.owner,
            converted_account=company.id,
            converted_contact=contact_id,
            description="<p>" + self.label(company.locale, ("Converted after a demonstration.",
                                                            "Convertie après une démonstration.")) + "</p>",
        )
        return row

    # -- opportunities ---------------------------------------------------------------

    def seed_opportunities(self) -> None:
        candidates = [c for c in self.companies if c.account_type in ("customer", "prospect")] or self.companies
        by_id = {c.id: c for c in self.companies}
        rows, companies = [], []
        for n in range(max(DEMO_SIZES["opportunity"], len(self.converted_leads))):
            lead = self.converted_leads[n] if n < len(self.converted_leads) else None
            company = by_id[lead[1]["converted_account"]] if lead else self.rng.choice(candidates)
            status = self.status("opportunity", {"prospecting": 20, "qualification": 20, "proposal": 20,
                                                 "negotiation": 12, "closed_won": 16, "closed_lost": 12})
            amount = lead[1].get("budget") if lead else None
            amount = amount or self.money(2_000, 250_000)
            closed = not self.is_open("opportunity", status)
            row: Row = {
                "name": f"{company.name} - {self.label(company.locale, self.rng.choice(PRODUCTS))}",
                "account": company.id,
                "amount": amount,
                "best_case": (amount * Decimal("1.2")).quantize(Decimal("0.01")),
                "worst_case": (amount * Decimal("0.7")).quantize(Decimal("0.01")),
                "probability": self.entered_value("opportunity", status, "probability", 10),
                "expected_close": self.day(-90, -1) if closed else self.day(0, 180),
                "source": lead[1]["source"] if lead else self.rng.choice(self.codes("lead_sources")),
                "assigned_to": company.owner,
                "status": status,
                "description": "<p>" + self.label(company.locale, ("Budget confirmed by the customer.",
                                                                   "Budget confirmé par le client.")) + "</p>",
            }
            if lead:
                row.update(lead=lead[0], contact=lead[1]["converted_contact"])
            elif company.contacts:
                row["contact"] = self.rng.choice(company.contacts)
            if self.rng.random() < 0.3:
                row["recurring_amount"] = self.money(100, 5_000, 50)
                row["recurring_months"] = self.rng.choice((12, 24, 36, 48, 60))
            rows.append(row)
            companies.append(company)
        ids = self.create("opportunity", rows)
        self.opportunities = list(zip(ids, companies))
        self.converted_opportunities = ids[: len(self.converted_leads)]

    def link_converted_leads(self) -> None:
        """The opportunity of a converted lead exists only now: link it back (a dozen updates)."""
        for (lead_id, _), opportunity_id in zip(self.converted_leads, self.converted_opportunities):
            self.engine.records.update("lead", lead_id, {"converted_opportunity": opportunity_id}, SYSTEM_ACTOR)

    # -- events ----------------------------------------------------------------------

    def seed_events(self) -> None:
        directions = self.codes("call_directions")
        companies = {c.id: c for c in self.companies}
        rows = []
        for n in range(DEMO_SIZES["event"]):
            ticket = self.rng.choice(self.tickets) if self.tickets and self.rng.random() < 0.15 else None
            if ticket is not None:  # a support call or visit about a ticket, on the ticket's account
                opportunity_id, company = None, companies[ticket["account"]]
            else:
                opportunity_id, company = self.rng.choice(self.opportunities) if self.rng.random() < 0.4 \
                    else (None, self.rng.choice(self.companies))
            event_type = self.code("event_types", self.weighted(
                {"phone_call": 35, "meeting": 30, "task": 10, "note": 10, "email_sent": 10, "demo": 5}))
            # a fifth of the events fall in the coming week, so "this week" views are never empty
            starts_at = self.moment(0, 6) if n % 5 == 0 else self.moment(-60, 30)
            minutes = 15 if event_type == "phone_call" else self.rng.choice((30, 45, 60, 90, 120))
            contact_id = self.rng.choice(company.contacts) if company.contacts else None
            subject = {
                "phone_call": ("Call with {name}", "Appel avec {name}"),
                "meeting": ("Meeting at {name}", "Rendez-vous chez {name}"),
                "demo": ("Product demonstration for {name}", "Démonstration produit pour {name}"),
                "email_sent": ("Email to {name}", "E-mail à {name}"),
                "note": ("Note about {name}", "Note sur {name}"),
            }.get(event_type, ("Follow-up for {name}", "Suivi pour {name}"))
            row: Row = {
                "subject": self.label(company.locale, subject).format(name=company.name),
                "event_type": event_type,
                "starts_at": starts_at,
                "private": self.rng.random() < 0.05,
                "account": company.id,
                "assigned_to": ticket.get("assigned_to", company.owner) if ticket else company.owner,
            }
            if event_type in TIMED_EVENT_TYPES:
                row["ends_at"] = starts_at + dt.timedelta(minutes=minutes)
            if event_type == "phone_call":
                row["direction"] = self.rng.choice(directions)
            if event_type in ("meeting", "demo"):
                row["location"] = self.rng.choice((f"{company.street}, {company.city}", "Visio", "Teams"))
            if contact_id is not None:
                row["contact"] = contact_id
                row["attendees"] = self.attendees(event_type, company, contact_id)
            if event_type in ("meeting", "demo") and self.rng.random() < 0.6:
                colleagues = [u for u in self.user_ids if u != row["assigned_to"]]
                row["participants"] = sorted(self.rng.sample(colleagues, min(len(colleagues), self.rng.randint(1, 2))))
            if ticket is not None:
                row["ticket"] = ticket["id"]
            elif opportunity_id is not None:
                row["opportunity"] = opportunity_id
            elif self.rng.random() < 0.15:
                row["lead"] = self.rng.choice(self.lead_ids)
            rows.append(row)
        ids = self.create("event", rows)
        past = [(i, r) for i, r in zip(ids, rows) if r["starts_at"] < self.now]
        # reports follow meetings and demonstrations first, then calls
        self.reportable_events = [e for e in past if e[1]["event_type"] in ("meeting", "demo")]
        self.reportable_events += [e for e in past if e[1]["event_type"] == "phone_call"]

    def attendees(self, event_type: str, company: _Company, contact_id: int) -> list[int]:
        """Who from the customer attends: the event's contact, and for a meeting or a
        demonstration up to two more contacts of the same account."""
        if event_type not in ("meeting", "demo"):
            return [contact_id] if event_type == "phone_call" else []
        others = [c for c in company.contacts if c != contact_id]
        return sorted([contact_id, *self.rng.sample(others, min(len(others), self.rng.randint(0, 2)))])

    # -- tasks -----------------------------------------------------------------------

    def seed_tasks(self) -> None:
        companies = {c.id: c for c in self.companies}
        rows = []
        for _ in range(DEMO_SIZES["task"]):
            ticket = self.rng.choice(self.tickets) if self.tickets and self.rng.random() < 0.15 else None
            if ticket is not None:
                opportunity_id, company = None, companies[ticket["account"]]
            else:
                opportunity_id, company = self.rng.choice(self.opportunities) if self.rng.random() < 0.5 \
                    else (None, self.rng.choice(self.companies))
            status = self.status("task", {"to_do": 45, "in_progress": 25, "done": 22, "cancelled": 8})
            percent = {"to_do": 0, "in_progress": self.rng.randrange(10, 100, 10)}.get(
                status, self.rng.randrange(0, 60, 10))
            percent = self.entered_value("task", status, "percent_done", percent)
            row: Row = {
                "subject": self.label(company.locale, self.rng.choice(TASK_SUBJECTS)),
                "priority": self.code("priorities", self.weighted({"low": 2, "normal": 5, "high": 2, "urgent": 1})),
                "due_date": self.day(-20, -1) if not self.is_open("task", status) else self.day(-5, 40),
                "duration_minutes": self.rng.choice((15, 30, 60, 90, 120, 240, 480)),
                "percent_done": percent,
                "account": company.id,
                "assigned_to": ticket.get("assigned_to", company.owner) if ticket else company.owner,
                "status": status,
            }
            if company.contacts:
                row["contact"] = self.rng.choice(company.contacts)
            if ticket is not None:
                row["ticket"] = ticket["id"]
            elif opportunity_id is not None:
                row["opportunity"] = opportunity_id
            elif self.rng.random() < 0.2:
                row["lead"] = self.rng.choice(self.lead_ids)
            rows.append(row)
        self.create("task", rows)

    # -- tickets ---------------------------------------------------------------------

    def seed_tickets(self) -> None:
        customers = [c for c in self.companies if c.account_type == "customer"] or self.companies
        support = self.support_users or self.user_ids
        rows = []
        for _ in range(DEMO_SIZES["ticket"]):
            company = self.rng.choice(customers)
            category = self.rng.choice(self.codes("ticket_categories"))
            status = self.status("ticket", {"new": 20, "in_progress": 25, "pending": 15, "resolved": 20,
                                            "closed": 20})
            subject = self.label(company.locale, self.rng.choice(TICKET_SUBJECTS.get(category,
                                                                                     DEFAULT_TICKET_SUBJECTS)))
            row: Row = {
                "subject": subject,
                "account": company.id,
                "priority": self.code("priorities", self.weighted({"low": 2, "normal": 5, "high": 3, "urgent": 1})),
                "severity": self.rng.choice(self.codes("ticket_severities")),
                "category": category,
                "channel": self.rng.choice(self.codes("ticket_channels")),
                "description": "<p>" + self.label(company.locale, (
                    "Reported by the customer; details in the attached messages.",
                    "Signalé par le client ; détails dans les messages joints.")) + "</p>",
                "status": status,
            }
            if status != self.model.workflow("ticket").initial.code or self.rng.random() < 0.5:
                row["assigned_to"] = self.rng.choice(support)
            if company.contacts:
                row["contact"] = self.rng.choice(company.contacts)
            if not self.is_open("ticket", status):
                row["resolution"] = self.label(company.locale, (
                    "Fixed and confirmed with the customer.", "Corrigé et validé avec le client."))
                row["resolved_on"] = self.day(-30, -1)
            rows.append(row)
        ids = self.create("ticket", rows)
        self.tickets = [{"id": i, **row} for i, row in zip(ids, rows)]

    # -- activity reports ------------------------------------------------------------

    def seed_activity_reports(self) -> None:
        events = self.reportable_events[: DEMO_SIZES["activity_report"]]
        companies = {c.id: c for c in self.companies}
        rows = []
        for event_id, event in sorted(events, key=lambda e: e[0]):
            company = companies[event["account"]]
            row: Row = {
                "subject": self.label(company.locale, ("Visit report: {name}", "Compte rendu de visite : {name}"))
                .format(name=company.name),
                "report_date": event["starts_at"].date(),
                "account": company.id,
                "event": event_id,
                "summary": "<p>" + self.label(company.locale, (
                    "Presented the offer; the customer asked for a detailed quote.",
                    "Présentation de l'offre ; le client demande un devis détaillé.")) + "</p>",
                "next_steps": self.label(company.locale, ("Send the quote within a week.",
                                                          "Envoyer le devis sous huit jours.")),
                "author": event["assigned_to"],
            }
            for name in ("contact", "opportunity", "ticket"):
                if name in event:
                    row[name] = event[name]
            rows.append(row)
        if rows:
            self.create("activity_report", rows)

    # -- contact lists ---------------------------------------------------------------

    def seed_contact_lists(self) -> None:
        """Static lists of contacts, chosen by what the contacts are, as a marketer builds them."""
        companies = {c.id: c for c in self.companies}
        emailable = {i: r for i, r in self.contact_rows.items() if not r.get("do_not_email")}

        def kind(contact: Row) -> str:
            return companies[contact["account"]].account_type

        chosen = [
            ("Lettre d'information - France", "newsletter", "Clients et prospects français qui acceptent les e-mails.",
             [i for i, r in emailable.items() if r["country"] == FRANCE.country and kind(r) in ("customer", "prospect")]),
            ("Customer day invitation", "event_invitation", "Customers invited to the annual customer day.",
             [i for i, r in emailable.items() if kind(r) == "customer"]),
            ("IT decision makers", "campaign_target", "Technical decision makers for the integration offer.",
             [i for i, r in self.contact_rows.items() if r.get("function") in ("cto", "it_manager")]),
            ("Contacts clés grands comptes", "key_contacts", "Dirigeants des comptes clients les plus importants.",
             [i for i, r in self.contact_rows.items()
              if r.get("function") in ("ceo", "cfo", "sales_director") and kind(r) in ("customer", "partner")]),
            ("UK prospects - spring follow-up", "prospecting", "British prospects to call back this spring.",
             [i for i, r in self.contact_rows.items()
              if r["country"] == BRITAIN.country and kind(r) == "prospect" and not r.get("do_not_call")]),
            ("Partenaires - salon annuel", "event_invitation", "Partenaires et fournisseurs invités au salon.",
             [i for i, r in emailable.items() if kind(r) in ("partner", "supplier")]),
        ][: DEMO_SIZES["contact_list"]]
        rows = [
            {"name": name, "purpose": self.code("contact_list_purposes", purpose), "description": description,
             "members": sorted(members), "assigned_to": self.rng.choice(self.sales_users)}
            for name, purpose, description, members in chosen
        ]
        self.create("contact_list", rows)


def _companies(ids: list[int], metas: list[dict[str, Any]]) -> list[_Company]:
    return [_Company(id=i, contacts=[], **meta) for i, meta in zip(ids, metas)]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Lefèvre' -> 'lefevre'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = [w for w in "".join(ch if ch.isalnum() else " " for ch in plain).split() if w not in LEGAL_WORDS]
    return "-".join(words)[:40].strip("-") or "company"


LEGAL_WORDS = frozenset({"sa", "sas", "sarl", "ltd", "plc"})


DEMO_PASSWORD = "ossature-demo"
TEAM_ROLES = {team: "sales" for team in SALES_TEAMS} | {"customer_support": "support", "management": "manager"}


def seed_demo_logins(engine: Any, password: str = DEMO_PASSWORD) -> list[tuple[str, list[str]]]:
    """Logins for the demo: an `admin` user, and each demo user with the role of their team.

    Demo data only: every login shares `password`. Does nothing if `admin` exists.
    """
    from engine.access.accounts import AccountError, Accounts

    accounts = Accounts(engine)
    accounts.migrate()
    try:
        accounts.user_id("admin")
        return []
    except AccountError:
        pass
    created = [("admin", ["admin"])]
    accounts.create_user("admin", "Administrator", password, ["admin"])
    for username, _name, team, _lang, active in USERS:
        roles = [TEAM_ROLES.get(team, "read_only")]
        try:
            user_id = accounts.user_id(username)
        except AccountError:
            continue
        accounts.set_roles(user_id, roles)
        accounts.set_password(user_id, password)
        if active:
            created.append((username, roles))
    return created
