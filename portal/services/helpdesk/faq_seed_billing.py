"""FAQ articles on statements, invoices and payment (seeded with the others by ``faq_seed.seed_faq``).

Facts from the billing rules (README "Statements, receipts and notifications"): residents are invoiced
on a monthly statement; a session belongs to the month it started in; the statement is issued early on
the 1st (a session ending later comes on a supplementary statement); corrections are credit notes.
"""
from __future__ import annotations

# slug -> (category, position, {language: (title, markdown body)})
BILLING_ARTICLES: dict[str, tuple[str, int, dict[str, tuple[str, str]]]] = {
    "monthly-statement": ("prices", 40, {
        "nb": ("Hva står på månedsoppgjøret?",
               "Hver måned får du et månedsoppgjør for hvert borettslag der du har ladet. Det lages natt til den "
               "første i måneden og gjelder måneden før. Oppgjøret viser hver ladeøkt med dato, kWh og pris "
               "inkludert mva., og abonnementene dine, regnet for de dagene du hadde dem.\n\n"
               "En ladeøkt hører til måneden den startet i. Lader bilen over midnatt ved månedsskiftet, eller "
               "melder laderen fra om økten senere, kommer økten på et tilleggsoppgjør for samme måned.\n\n"
               "Du finner alle oppgjørene under **Månedsoppgjør** i menyen, klare til utskrift. De sendes også "
               "på e-post; det kan du slå av på kontosiden."),
        "sv": ("Vad står på månadsavräkningen?",
               "Varje månad får du en avräkning för varje förening där du har laddat. Den skapas natten mot den "
               "första i månaden och gäller månaden innan. Avräkningen visar varje laddsession med datum, kWh och "
               "pris inklusive moms, och dina abonnemang, räknade för de dagar du hade dem.\n\n"
               "En laddsession hör till den månad den började i. Laddar bilen över midnatt vid månadsskiftet, "
               "eller rapporterar laddaren sessionen senare, hamnar den på en tilläggsavräkning för samma månad.\n\n"
               "Alla avräkningar finns under **Avräkningar** i menyn, redo att skriva ut. De skickas också med "
               "e-post; det kan du stänga av på kontosidan."),
        "en": ("What is on my monthly statement?",
               "Every month you get a statement for each building where you have charged. It is made in the "
               "night to the 1st and covers the month before. It lists every charging session with its date, kWh "
               "and price including VAT, and your subscriptions, counted for the days you held them.\n\n"
               "A session belongs to the month it started in. If the car charges across midnight at the end of "
               "the month, or the charger reports the session late, it comes on a supplementary statement for "
               "the same month.\n\n"
               "All your statements are under **Statements** in the menu, ready to print. They are e-mailed to "
               "you too; you can turn that off on your account page."),
    }),
    "invoice-and-payment": ("prices", 50, {
        "nb": ("Hvordan betaler jeg for ladingen?",
               "Du betaler mot faktura: ingenting trekkes fra kortet ditt når du starter. Hver økt koster det "
               "prisen på startsiden sa, og noen tariffer har en minstepris som gjelder for svært korte økter.\n\n"
               "Hver økt kommer på månedsoppgjøret for måneden den startet i, sammen med abonnementene dine. "
               "Oppgjøret har et eget nummer (for eksempel F-00000042); oppgi det når du spør om en faktura.\n\n"
               "Har du spørsmål om en faktura eller en betaling, [skriv til kundeservice](/support) og velg "
               "«Faktura eller betaling». Vi svarer hele døgnet."),
        "sv": ("Hur betalar jag för laddningen?",
               "Du betalar mot faktura: ingenting dras från ditt kort när du startar. Varje session kostar det "
               "som priset på startsidan sa, och vissa taxor har ett lägsta pris som gäller för mycket korta "
               "sessioner.\n\n"
               "Varje session kommer på avräkningen för den månad den började i, tillsammans med dina abonnemang. "
               "Avräkningen har ett eget nummer (till exempel F-00000042); ange det när du frågar om en faktura.\n\n"
               "Har du frågor om en faktura eller en betalning, [skriv till kundtjänst](/support) och välj "
               "”Faktura eller betalning”. Vi svarar dygnet runt."),
        "en": ("How do I pay for charging?",
               "You pay by invoice: nothing is taken from your card when you start. Each session costs what the "
               "price on the start screen said, and some tariffs have a minimum price for very short sessions.\n\n"
               "Each session goes on the statement for the month it started in, together with your "
               "subscriptions. The statement has its own number (for example F-00000042); give it when you ask "
               "about an invoice.\n\n"
               "For a question about an invoice or a payment, [write to support](/support) and choose "
               "\u201cInvoice or payment\u201d. We answer around the clock."),
    }),
    "statement-correction": ("prices", 60, {
        "nb": ("Noe er feil på oppgjøret mitt",
               "Et månedsoppgjør endres aldri etter at det er laget. Er noe feil, for eksempel en økt som ble "
               "målt feil, retter vi det med en kreditnota: et eget dokument med eget nummer som viser hvilke "
               "linjer som krediteres og hvorfor. Trengs det, følger et nytt tilleggsoppgjør med de riktige "
               "tallene.\n\n"
               "Kreditnotaen sendes deg på e-post og ligger under **Månedsoppgjør** ved siden av oppgjøret den "
               "retter. [Skriv til kundeservice](/support) med nummeret på oppgjøret, så ser vi på det."),
        "sv": ("Något är fel på min avräkning",
               "En avräkning ändras aldrig när den väl är skapad. Är något fel, till exempel en session som "
               "mättes fel, rättar vi det med en kreditnota: ett eget dokument med eget nummer som visar vilka "
               "rader som krediteras och varför. Vid behov följer en ny tilläggsavräkning med de rätta "
               "siffrorna.\n\n"
               "Kreditnotan skickas till dig med e-post och finns under **Avräkningar** bredvid avräkningen den "
               "rättar. [Skriv till kundtjänst](/support) med avräkningens nummer, så tittar vi på det."),
        "en": ("Something is wrong on my statement",
               "A statement is never changed once it is made. If something is wrong, for example a session that "
               "was measured wrongly, we correct it with a credit note: a document of its own, with its own "
               "number, showing which lines are credited and why. If needed, a new supplementary statement with "
               "the right figures follows.\n\n"
               "The credit note is e-mailed to you and is under **Statements** next to the statement it corrects. "
               "[Write to support](/support) with the statement's number and we will look into it."),
    }),
}
