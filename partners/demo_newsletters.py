"""The demo's newsletters: the diplomatic corps' weekly update (the Global City Strategy's "regular email
newsletter" to the missions in Tokyo) and a sister cities list, sample liaisons at the registry's embassies
who prefer several languages, and one issue, in English and in plain Japanese, already sent and in the archive.

The liaisons are invented people, tagged "sample"; the issue states only facts of ../shared/data and the
strategy (agreements, anniversaries, multilingual alerts). Nothing is mailed: the issue is recorded as sent.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kizuna.extensions import db, utcnow
from network.models import Embassy, MissionType

from . import newsletters, services
from .models import ContactEmail, Issue, IssueStatus, MailingList, Organisation, OrganisationKind

SAMPLE_TAG = "sample"
SOURCE = "Kizuna demo: an invented person (sample data)"

WEEKLY = {"names": {"en": "Diplomatic corps weekly update", "ja": "外交団向け週報"},
          "description": "News from the Tokyo Metropolitan Government for the diplomatic missions in Tokyo.",
          "default_language": "en", "public_subscribe": True, "double_opt_in": True,
          "archive_visibility": "subscribers"}
SISTER_CITIES = {"names": {"en": "Sister cities news", "ja": "姉妹友好都市ニュース"},
                 "description": "Exchanges between Tokyo and its sister and friendship cities and states.",
                 "default_language": "en", "public_subscribe": False, "double_opt_in": True,
                 "archive_visibility": "public"}

# (embassy's country, given, family, given in own script, family in own script, preferred language, post)
LIAISONS = (
    ("US", "Emily", "Carter", "", "", "en", "Political Section"),
    ("US", "Daniel", "Ortiz", "", "", "es", "Consular Section"),
    ("GB", "Thomas", "Reid", "", "", "en", "Prosperity Section"),
    ("FR", "Camille", "Laurent", "", "", "fr", "Service de presse"),
    ("KR", "Min-jun", "Kim", "민준", "김", "ko", "Political Section"),
    ("DE", "Anna", "Schmidt", "", "", "ja", "Kulturabteilung"),
    ("AU", "Grace", "Chen", "", "", "zh", "Public Diplomacy"),
    ("BR", "Mariana", "Souza", "", "", "pt-BR", "Setor Cultural"),  # no issue in Portuguese: she gets English
)

ISSUE_EN = ("Tokyo's partner network: recent agreements and information in many languages", """\
Dear colleagues of the diplomatic corps,

This update brings together recent steps in Tokyo's city diplomacy.

## Agreements with partner cities

- **City of London Corporation** — on 8 September 2025 the Tokyo Metropolitan Government and the City of London
  Corporation signed a revised memorandum of understanding. It follows their 2017 memorandum on financial
  services.
- **Dubai** — a memorandum of understanding with the Dubai Executive Council was signed in October 2025.
- **New York City** — Tokyo's sister-city tie with New York City began on 29 February 1960; 2025 marked its
  65th anniversary.

## Information in many languages

Under the Policy for the Promotion of the Global City Strategy, the Tokyo Metropolitan Government prepares
multilingual alerts in advance, so that they can be sent out quickly in an emergency, and promotes the use of
plain Japanese (*yasashii nihongo*). With the Tokyo Metropolitan Foundation TSUNAGARI, it is enhancing
multilingual information and consultations on everyday life, disaster preparedness and crime prevention.

Colleagues at your mission can subscribe to this update on its web form.

International Affairs, Office of the Governor for Policy Planning, Tokyo Metropolitan Government
""")

# One line per sentence: a line break inside a Japanese sentence shows as a stray space on the web page.
ISSUE_JA = ("東京都と 外国の 都市の ニュース", "\n".join((
    "大使館の みなさまへ",
    "",
    "東京都と 外国の 都市の 新しい ニュースを お知らせします。",
    "",
    "## 外国の 都市との 約束（やくそく）",
    "",
    "- **ロンドンの シティ（City of London Corporation）**：2025年9月8日に、"
    "東京都と 新しい 約束の 文書（MOU）に サインしました。2017年の 約束を 新しく しました。",
    "- **ドバイ**：2025年10月に、東京都と 約束の 文書（MOU）に サインしました。",
    "- **ニューヨーク市**：1960年2月29日に、東京都の 姉妹都市（しまいとし）に なりました。2025年で 65年です。",
    "",
    "## いろいろな ことばで お知らせします",
    "",
    "東京都は、困った ときに すぐ 送る ことが できるように、"
    "いろいろな ことばの お知らせを 前もって 準備（じゅんび）します。「やさしい日本語」も 広めています。",
    "",
    "東京都 政策企画局（せいさくきかくきょく）",
    "")))


def _list(fields: dict) -> tuple[MailingList, bool]:
    english = fields["names"]["en"]
    for mailing_list in db.session.scalars(select(MailingList).order_by(MailingList.id)):
        if (mailing_list.names or {}).get("en") == english:
            return mailing_list, False
    return newsletters.create_list(actor=None, **fields), True


def _embassy_organisation(country: str) -> Organisation | None:
    embassy = db.session.scalar(select(Embassy).where(Embassy.country_code == country,
                                                      Embassy.mission_type == MissionType.EMBASSY)
                                .order_by(Embassy.id).limit(1))
    if embassy is None:
        return None
    organisation = db.session.scalar(select(Organisation).where(Organisation.embassy_id == embassy.id))
    if organisation is None:
        organisation = services.create_organisation(actor=None, kind=OrganisationKind.EMBASSY, name=embassy.name,
                                                    embassy_id=embassy.id,
                                                    country_code=embassy.country_code)
    return organisation


def _liaisons(weekly: MailingList) -> int:
    """The sample liaisons not there yet, each with a post at their embassy and on the weekly update."""
    made = 0
    for country, given, family, given_local, family_local, language, post in LIAISONS:
        email = f"{given}.{family}.sample@example.org".lower()
        if db.session.scalar(select(ContactEmail.id).where(ContactEmail.address == email)) is not None:
            continue  # seeded before: what staff did with them since stays as it is
        contact = services.create_contact(
            actor=None, given_name=given, family_name=family, given_name_local=given_local,
            family_name_local=family_local, country_code=country, preferred_language=language, emails=[email],
            tags=[SAMPLE_TAG], source=SOURCE, notes="Sample data: not a member of the embassy's staff.")
        organisation = _embassy_organisation(country)
        if organisation is not None:
            services.add_position(contact_id=contact.id, organisation_id=organisation.id, actor=None,
                                  title="Liaison (sample)", department=post)
        newsletters.subscribe(list_id=weekly.id, contact_id=contact.id, actor=None)
        made += 1
    return made


def _sent_issue(weekly: MailingList) -> bool:
    """One issue of the weekly update in English and plain Japanese, recorded as sent, unless it has issues."""
    if db.session.scalar(select(Issue.id).where(Issue.list_id == weekly.id).limit(1)) is not None:
        return False
    issue = newsletters.create_issue(list_id=weekly.id, actor=None)
    for language, (subject, body) in (("en", ISSUE_EN), ("ja", ISSUE_JA)):
        newsletters.save_variant(issue_id=issue.id, language=language, subject=subject, body=body, actor=None)
    now = utcnow()
    # Recorded as sent without sending: the demo's readers are invented, and the archive is what it shows.
    issue.status, issue.approved_at, issue.sent_at = IssueStatus.SENT, now - timedelta(days=3, hours=1), \
        now - timedelta(days=3)
    db.session.flush()
    return True


def seed_newsletters() -> bool:
    """Seed the demo's lists, sample liaisons and sent issue, each only if missing; True when it added anything.

    Idempotent: a second run changes nothing, and leaves alone what staff changed since. Best after
    network.demo.seed_tokyo (the liaisons' embassies). Flushes only.
    """
    weekly, made_weekly = _list(WEEKLY)
    _sister, made_sister = _list(SISTER_CITIES)
    made_liaisons = _liaisons(weekly)
    made_issue = _sent_issue(weekly)
    return bool(made_weekly or made_sister or made_liaisons or made_issue)
