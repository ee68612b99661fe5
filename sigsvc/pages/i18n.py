"""Latvian pages with an English switch: `?lang=en` (or `lv`) sets a cookie; default Latvian.

Messages live here, one entry per key with both languages, so a missing translation is a
KeyError in tests rather than a blank on a page.
"""

from __future__ import annotations

from flask import Response, g, request

LANGUAGES = ("lv", "en")
COOKIE = "lang"

M: dict[str, tuple[str, str]] = {
    # layout
    "site.name": ("sigsvc — parakstu vākšana", "sigsvc — signature collection"),
    "nav.initiatives": ("Iniciatīvas", "Initiatives"),
    "nav.log": ("Žurnāls", "Log"),
    "nav.receipt": ("Pārbaudīt kvīti", "Check my receipt"),
    "nav.console": ("Operatora konsole", "Operator console"),
    "nav.skip": ("Pāriet uz saturu", "Skip to content"),
    "nav.main": ("Galvenā navigācija", "Main navigation"),
    "lang.switch": ("English", "Latviski"),
    "lang.switch.label": ("Switch to English", "Pārslēgt uz latviešu valodu"),
    "footer.data": ("Atvērtie dati", "Open data"),
    "footer.nopd": (
        "Šajās lapās nav personas datu: tikai skaiti, datumi un žurnāla kontrolpunkti.",
        "These pages hold no personal data: counts, dates and log checkpoints only.",
    ),
    # initiatives
    "initiatives.title": ("Iniciatīvas", "Initiatives"),
    "initiatives.lead": (
        "Iniciatīvas, kurām šis pakalpojums vāc parakstus, ar parakstu skaitu.",
        "Initiatives this service collects signatures for, with their counts.",
    ),
    "initiatives.none": ("Vēl nav reģistrētu iniciatīvu.", "No initiatives are registered yet."),
    "col.title": ("Nosaukums", "Title"),
    "col.number": ("CVK numurs", "CVK number"),
    "col.window": ("Vākšanas laiks", "Collection period"),
    "col.status": ("Statuss", "Status"),
    "col.accepted": ("Pieņemti", "Accepted"),
    "col.withdrawn": ("Atsaukti", "Withdrawn"),
    "col.rejected": ("Noraidīti", "Rejected"),
    "col.reason": ("Iemesls", "Reason"),
    "col.count": ("Skaits", "Count"),
    "col.day": ("Diena", "Day"),
    "col.regime": ("Veids", "Type"),
    "status.open": ("atvērta", "open"),
    "status.closed": ("slēgta", "closed"),
    "initiative.counts": ("Paraksti", "Signatures"),
    "initiative.rejections": ("Noraidījumi pēc iemesla", "Rejections by reason"),
    "initiative.norejections": ("Noraidījumu nav.", "No rejections."),
    "initiative.perday": ("Paraksti dienā", "Signatures per day"),
    "initiative.perday.desc": (
        "Pieņemto parakstu skaits katrā dienā (Rīgas laiks), kopā {total}, lielākais {peak}.",
        "Signatures accepted each day (Riga time), {total} in total, at most {peak} a day.",
    ),
    "initiative.perday.table": ("Skaitļi tabulā", "The numbers as a table"),
    "initiative.nodays": (
        "Vākšana vēl nav sākusies.",
        "Collection has not started yet.",
    ),
    "initiative.textsha": ("Teksta SHA-256", "Text SHA-256"),
    "initiative.data": ("Dati", "Data"),
    # log
    "log.title": ("Audita žurnāls", "Audit log"),
    "log.lead": (
        "Katrs notikums (pieņemts, noraidīts, atsaukts paraksts, partija CVK, dzēšana) ir "
        "ieraksts Merkles kokā (RFC 6962). Parakstīti kontrolpunkti ļauj ikvienam pārbaudīt, ka "
        "žurnāls tikai papildinās un netiek pārrakstīts.",
        "Every event (a signature accepted, rejected or withdrawn, a batch to CVK, a deletion) "
        "is an entry in a Merkle tree (RFC 6962). Signed checkpoints let anyone check that the "
        "log only grows and is never rewritten.",
    ),
    "log.size": ("Ierakstu skaits", "Entries"),
    "log.latest": ("Jaunākais parakstītais kontrolpunkts", "Latest signed checkpoint"),
    "log.age": ("Vecums", "Age"),
    "log.key": ("Žurnāla publiskā atslēga", "The log's public key"),
    "log.origin": ("Izcelsme", "Origin"),
    "log.nokey": (
        "Žurnāla atslēga nav konfigurēta: kontrolpunkti netiek parakstīti.",
        "No log key is configured: checkpoints are not being signed.",
    ),
    "log.nocheckpoint": ("Vēl nav neviena kontrolpunkta.", "There is no checkpoint yet."),
    "log.history": ("Kontrolpunktu vēsture", "Checkpoint history"),
    "log.col.seq": ("Nr.", "No."),
    "log.col.size": ("Izmērs", "Size"),
    "log.col.root": ("Sakne", "Root"),
    "log.col.cut": ("Parakstīts", "Signed at"),
    "log.howto": ("Kā pārbaudīt pašam", "How to check it yourself"),
    "log.howto.text": (
        "Lejupielādējiet žurnālu un pārbaudiet to bezsaistē ar sigaudit (koka saknes, "
        "kontrolpunktu paraksti, notikumu secība):",
        "Download the log and verify it offline with sigaudit (tree roots, checkpoint "
        "signatures, the order of events):",
    ),
    "log.howto.receipt": (
        "Savu kvīti var pārbaudīt arī šeit pārlūkā:",
        "You can also check your receipt here, in the browser:",
    ),
    "age.seconds": ("{n} s", "{n} s"),
    "age.minutes": ("{n} min", "{n} min"),
    "age.hours": ("{n} h", "{n} h"),
    "age.days": ("{n} d", "{n} d"),
    "age.unknown": ("nezināms", "unknown"),
    # receipt
    "receipt.title": ("Pārbaudīt savu kvīti", "Check my receipt"),
    "receipt.lead": (
        "Kvīts (C2SP tlog-proof) pierāda, ka jūsu paraksts ir ierakstīts žurnālā. Pārbaude "
        "notiek jūsu pārlūkā: kvīts netiek sūtīta serverim. Serverim tiek nosūtīti tikai divi "
        "skaitļi — kvīts kontrolpunkta un pašreizējā kontrolpunkta izmērs —, lai saņemtu "
        "konsekvences pierādījumu.",
        "A receipt (C2SP tlog-proof) proves that your signature is recorded in the log. The "
        "check runs in your browser: the receipt is not sent to the server. Only two numbers "
        "go to the server — the sizes of the receipt's checkpoint and of the current one — to "
        "fetch the consistency proof.",
    ),
    "receipt.key": ("Pārbaudīt pret žurnāla atslēgu", "Check against the log key"),
    "receipt.key.help": (
        "Šī ir žurnāla publiskā atslēga. Salīdziniet to ar atslēgu, ko publicējis CVK vai "
        "neatkarīgs avots.",
        "This is the log's public key. Compare it with the key published by CVK or another "
        "independent source.",
    ),
    "receipt.file": ("Kvīts fails", "Receipt file"),
    "receipt.text": ("vai ielīmējiet kvīti", "or paste the receipt"),
    "receipt.check": ("Pārbaudīt", "Check"),
    "receipt.nojs": (
        "Pārbaudei vajadzīgs JavaScript: pārlūks pats pārrēķina pierādījumus. Bez tā "
        "izmantojiet sigaudit verify-receipt.",
        "The check needs JavaScript: your browser recomputes the proofs itself. Without it, "
        "use sigaudit verify-receipt.",
    ),
    "receipt.offline": ("Bezsaistē:", "Offline:"),
    # console
    "console.title": ("Operatora konsole", "Operator console"),
    "console.login": ("Pieteikties", "Log in"),
    "console.logout": ("Iziet", "Log out"),
    "console.token": ("Administratora pilnvara", "Admin token"),
    "console.token.help": (
        "Pilnvara netiek saglabāta pārlūkā; sesija beidzas pēc 15 minūtēm.",
        "The token is not stored in the browser; the session ends after 15 minutes.",
    ),
    "console.login.failed": (
        "Pilnvara nav derīga (nezināma, atsaukta vai nav administratora).",
        "The token is not valid (unknown, revoked or not an admin token).",
    ),
    "console.expired": (
        "Sesija beigusies vai nav derīga. Piesakieties vēlreiz.",
        "The session ended or is not valid. Please log in again.",
    ),
    "console.csrf": (
        "Veidlapa noraidīta (CSRF pārbaude). Atveriet lapu no jauna un mēģiniet vēlreiz.",
        "The form was refused (CSRF check). Reload the page and try again.",
    ),
    "console.as": ("Pieteicies kā", "Logged in as"),
    "console.nav.initiatives": ("Iniciatīvas", "Initiatives"),
    "console.nav.platforms": ("Platformas", "Platforms"),
    "console.nav.batches": ("Partijas", "Batches"),
    "console.nav.retention": ("Glabāšana", "Retention"),
    "console.nav.health": ("Stāvoklis", "Health"),
    "console.nav.label": ("Konsoles navigācija", "Console navigation"),
    "console.done": ("Izdarīts.", "Done."),
    "console.refused": ("Atteikts", "Refused"),
    "console.register": ("Reģistrēt iniciatīvu", "Register an initiative"),
    "console.close": ("Slēgt vākšanu", "Close collection"),
    "console.close.confirm": (
        "Slēgšana ir neatgriezeniska.",
        "Closing cannot be undone.",
    ),
    "field.regime": ("Veids", "Type"),
    "field.number": ("CVK reģistrācijas numurs", "CVK registration number"),
    "field.title": ("Nosaukums", "Title"),
    "field.text": ("Pilns teksts", "Full text"),
    "field.starts": ("Sākums", "Starts on"),
    "field.ends": ("Beigas", "Ends on"),
    "field.name": ("Nosaukums", "Name"),
    "field.initiatives": ("Iniciatīvas", "Initiatives"),
    "field.ack": ("CVK parakstītais apliecinājums", "CVK's signed acknowledgement"),
    "platforms.create": ("Izveidot platformu", "Create a platform"),
    "platforms.key.once": (
        "Platformas API atslēga — tā tiek parādīta tikai šoreiz. Nokopējiet to tagad.",
        "The platform's API key — it is shown only this once. Copy it now.",
    ),
    "platforms.revoke": ("Atsaukt atslēgu", "Revoke key"),
    "platforms.revoked": ("atsaukta", "revoked"),
    "platforms.active": ("aktīva", "active"),
    "platforms.none": ("Platformu vēl nav.", "No platforms yet."),
    "col.created": ("Izveidota", "Created"),
    "col.actions": ("Darbības", "Actions"),
    "batches.create": ("Izveidot partiju", "Create a batch"),
    "batches.push": ("Nosūtīt CVK", "Push to CVK"),
    "batches.ack": ("Reģistrēt apliecinājumu", "Record acknowledgement"),
    "batches.none": ("Partiju vēl nav.", "No batches yet."),
    "batches.seq": ("Nr.", "No."),
    "batches.count": ("Paraksti", "Signatures"),
    "batches.status": ("Statuss", "Status"),
    "batches.checkpoint": ("Kontrolpunkts", "Checkpoint"),
    "retention.title": ("Personas datu glabāšana", "Retention of personal data"),
    "retention.lead": (
        "Partijām, kuras CVK apliecinājis vairāk nekā {days} dienas atpakaļ, dzēš personas "
        "datus; žurnāls paliek pārbaudāms.",
        "For batches CVK acknowledged more than {days} days ago, personal data is deleted; "
        "the log stays verifiable.",
    ),
    "retention.purge": ("Dzēst tagad", "Purge now"),
    "retention.due": ("Dzēšamas partijas", "Batches due for purge"),
    "health.title": ("Stāvoklis", "Health"),
    "health.ok": ("Viss kārtībā.", "All is well."),
    "health.problems": ("Jārisina", "Needs attention"),
    "health.figures": ("Rādītāji", "Figures"),
    "health.what": ("Kas notiek", "What is wrong"),
    "health.todo": ("Ko darīt", "What to do"),
    "health.denials": (
        "Atteikumi ātruma ierobežojuma dēļ (429, kopš starta)",
        "Rate-limit denials (429, since start)",
    ),
    "health.latency": (
        "Parakstu POST ilgums (kopš starta)",
        "Signature POST latency (since start)",
    ),
    "health.fetcherrors": (
        "OCSP/CRL/TSA kļūdas (kopš starta)",
        "OCSP/CRL/TSA errors (since start)",
    ),
    "health.nometrics": ("nav mērīts (nav /metrics)", "not measured (no /metrics)"),
    # errors
    "error.notfound": ("Lapa nav atrasta.", "Page not found."),
}


def language() -> str:
    found: str | None = g.get("lang")
    if found is None:
        wanted = request.args.get("lang") or request.cookies.get(COOKIE) or "lv"
        found = wanted if wanted in LANGUAGES else "lv"
        g.lang = found
    return found


def translate(key: str, **values: object) -> str:
    lv, en = M[key]
    text = en if language() == "en" else lv
    return text.format(**values) if values else text


def remember(response: Response) -> Response:
    """Keep an explicit ?lang= choice in a cookie (functional, no personal data)."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES and request.cookies.get(COOKIE) != wanted:
        response.set_cookie(COOKIE, wanted, max_age=365 * 86400, samesite="Lax", httponly=True)
    response.vary.add("Cookie")
    return response
