"""The FAQ articles loaded with the demo data: every topic of DOMAIN.md in bokmål, Swedish and English.

Written for this portal; ``seed_faq`` creates the missing ones and leaves edited ones alone.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from portal.services.helpdesk.faq import ArticleText, article_by_slug, save_article
from portal.services.helpdesk.faq_seed_billing import BILLING_ARTICLES

# slug -> (category, position, {language: (title, markdown body)})
ARTICLES: dict[str, tuple[str, int, dict[str, tuple[str, str]]]] = {
    "favourites": ("charging", 10, {
        "nb": ("Hvordan lagrer jeg favoritter?",
               "Åpne startsiden til ladestasjonen du bruker mest (der prisen og startknappen vises), og trykk "
               "**Legg til i favoritter**. Du kan også lagre et helt sted, for eksempel garasjen i borettslaget.\n\n"
               "Favorittene dine finner du i hovedmenyen under **Favoritter**. Ett trykk på **Fjern** tar en "
               "favoritt bort igjen."),
        "sv": ("Hur sparar jag favoriter?",
               "Öppna startsidan för den laddstation du använder mest (där priset och startknappen visas) och tryck "
               "på **Lägg till i favoriter**. Du kan också spara en hel plats, till exempel föreningens garage.\n\n"
               "Dina favoriter hittar du i huvudmenyn under **Favoriter**. Ett tryck på **Ta bort** tar bort "
               "favoriten igen."),
        "en": ("How do I save favourites?",
               "Open the start screen of the charger you use most (where the price and the start button are) and "
               "tap **Add to favourites**. You can save a whole location too, such as your building's garage.\n\n"
               "Your favourites are in the main menu under **Favourites**. One tap on **Remove** takes a favourite "
               "away again."),
    }),
    "start-from-favourites": ("charging", 20, {
        "nb": ("Starte lading fra favorittene",
               "Velg **Favoritter** i menyen og trykk på ladestasjonen. Du kommer rett til startsiden, ser prisen "
               "som gjelder for deg, og starter med ett trykk. Siden viser hvert steg: sendt, godtatt og lader, "
               "med kWh, effekt og kostnad så langt.\n\nSe også [hvordan du lagrer favoritter](/faq/favourites)."),
        "sv": ("Starta laddning från favoriterna",
               "Välj **Favoriter** i menyn och tryck på laddstationen. Du kommer direkt till startsidan, ser priset "
               "som gäller för dig och startar med ett tryck. Sidan visar varje steg: skickad, godkänd och laddar, "
               "med kWh, effekt och kostnad hittills.\n\nSe också [hur du sparar favoriter](/faq/favourites)."),
        "en": ("Start charging from your favourites",
               "Choose **Favourites** in the menu and tap the charger. You land on its start screen, see the price "
               "that applies to you, and start with one tap. The page shows each step: sent, accepted and charging, "
               "with kWh, power and cost so far.\n\nSee also [how to save favourites](/faq/favourites)."),
    }),
    "standard-tariffs": ("prices", 10, {
        "nb": ("Hva er en standardtariff?",
               "En standardtariff har en fast pris per kWh inkludert mva. I tillegg kan den ha en minstepris per "
               "ladeøkt og et reservert beløp; begge kan være 0. Prisen vises alltid som ett tall på startsiden, "
               "for eksempel `3,20 kr/kWh`.\n\nEn tariff kan være begrenset til et abonnement, for eksempel "
               "«beboere». Da gjelder den bare for deg som har et aktivt abonnement."),
        "sv": ("Vad är en standardtaxa?",
               "En standardtaxa har ett fast pris per kWh inklusive moms. Den kan också ha ett minimipris per "
               "laddning och ett reserverat belopp; båda kan vara 0. Priset visas alltid som ett tal på startsidan, "
               "till exempel `2,95 kr/kWh`.\n\nEn taxa kan vara begränsad till en prenumeration, till exempel "
               "”boende”. Då gäller den bara dig som har en aktiv prenumeration."),
        "en": ("What is a standard tariff?",
               "A standard tariff has a fixed price per kWh including VAT. It may also have a minimum price per "
               "session and a reserved amount; both may be 0. The start screen always shows the price as one "
               "figure, such as `3.20 kr/kWh`.\n\nA tariff can be limited to a subscription, for example "
               "\"residents\". Then it only applies if you hold an active subscription."),
    }),
    "tariff-groups": ("prices", 20, {
        "nb": ("Tariffgrupper: hvilken pris får jeg?",
               "Hver ladestasjon hører til én tariffgruppe med flere tariffer. Vanligst er to: en grunntariff som "
               "ikke tillater lading, og en beboertariff for dem med beboerabonnement.\n\nBlant tariffene du "
               "kvalifiserer for, vinner en begrenset tariff over en åpen. Er det likt, vinner den billigste. Hvis "
               "vinneren ikke tillater lading, kan du ikke lade der."),
        "sv": ("Taxegrupper: vilket pris får jag?",
               "Varje laddstation hör till en taxegrupp med flera taxor. Vanligast är två: en grundtaxa som inte "
               "tillåter laddning och en taxa för boende med boendeprenumeration.\n\nBland taxorna du kvalificerar "
               "för vinner en begränsad taxa över en öppen. Vid lika vinner den billigaste. Om vinnaren inte "
               "tillåter laddning kan du inte ladda där."),
        "en": ("Tariff groups: which price do I get?",
               "Every charger belongs to one tariff group with several tariffs. The usual set-up has two: a base "
               "tariff that does not allow charging, and a residents' tariff for holders of the residents' "
               "subscription.\n\nAmong the tariffs you qualify for, a restricted one wins over an open one; among "
               "equals the cheapest wins. If the winner does not allow charging, you cannot charge there."),
    }),
    "spot-price": ("prices", 30, {
        "nb": ("Hvordan virker spotpris?",
               "Med spotpris betaler du strømprisen time for time (eller per kvarter) i prisområdet ditt, pluss "
               "borettslagets påslag og mva. Startsiden viser prisen akkurat nå. Kvitteringen viser hva hver "
               "periode kostet."),
        "sv": ("Hur fungerar spotpris?",
               "Med spotpris betalar du elpriset timme för timme (eller per kvart) i ditt elområde, plus "
               "föreningens påslag och moms. Startsidan visar priset just nu. Kvittot visar vad varje period "
               "kostade."),
        "en": ("How does spot pricing work?",
               "With spot pricing you pay the electricity price hour by hour (or per quarter hour) in your price "
               "area, plus your building's markup and VAT. The start screen shows the price right now; the receipt "
               "shows what each period cost."),
    }),
    "changing-the-price": ("site_admin", 10, {
        "nb": ("Endre prisen på lading",
               "Styret endrer prisen under **Administrer sted → Tariffer**: åpne tariffen og skriv ny pris per kWh, "
               "med komma eller punktum (`2,35` og `2.35` betyr det samme). Den nye prisen gjelder ladeøkter som "
               "starter etter endringen. En økt som allerede går, beholder prisen den startet med."),
        "sv": ("Ändra priset för laddning",
               "Styrelsen ändrar priset under **Hantera plats → Taxor**: öppna taxan och skriv nytt pris per kWh, "
               "med komma eller punkt (`2,35` och `2.35` betyder samma sak). Det nya priset gäller laddningar som "
               "startar efter ändringen. En pågående laddning behåller priset den startade med."),
        "en": ("Changing the charging price",
               "The board changes the price under **Manage site → Tariffs**: open the tariff and enter the new "
               "price per kWh, with a comma or a dot (`2,35` and `2.35` mean the same). The new price applies to "
               "sessions started after the change; a running session keeps the price it started with."),
    }),
    "invites-and-removing-users": ("site_admin", 20, {
        "nb": ("Invitere beboere og fjerne brukere",
               "Under **Administrer sted → Personer** inviterer styret én e-postadresse, eller mange på en gang "
               "(én per linje). Invitasjonen gir tilgang til stedet når personen godtar den med kontoen sin.\n\n"
               "Fjerner dere en bruker, slettes tilgangen og medlemskapene i brukergrupper. Abonnementene er "
               "brukerens egne, og brukeren avslutter dem selv."),
        "sv": ("Bjuda in boende och ta bort användare",
               "Under **Hantera plats → Personer** bjuder styrelsen in en e-postadress, eller många på en gång "
               "(en per rad). Inbjudan ger tillgång till platsen när personen accepterar den med sitt konto.\n\n"
               "Tar ni bort en användare försvinner tillgången och medlemskapen i användargrupper. "
               "Prenumerationerna är användarens egna, och användaren avslutar dem själv."),
        "en": ("Inviting residents and removing users",
               "Under **Manage site → People** the board invites one e-mail address, or many at once (one per "
               "line). An invite gives access to the site once the person accepts it with their account.\n\n"
               "Removing a user deletes their access and their user-group memberships. Their subscriptions are "
               "their own to end."),
    }),
    "enable-disable-chargers": ("site_admin", 30, {
        "nb": ("Aktivere og deaktivere ladestasjoner",
               "Under **Administrer sted → Ladere** kan styret sette en ladestasjon til *Deaktivert*. Den blir da "
               "utilgjengelig og kan ikke startes. Velg *Aktivert* for å ta den i bruk igjen. Endringen sendes til "
               "laderen, og siden viser når den er bekreftet."),
        "sv": ("Aktivera och inaktivera laddstationer",
               "Under **Hantera plats → Laddare** kan styrelsen sätta en laddstation till *Inaktiverad*. Den blir "
               "då otillgänglig och kan inte startas. Välj *Aktiverad* för att använda den igen. Ändringen skickas "
               "till laddaren, och sidan visar när den är bekräftad."),
        "en": ("Enabling and disabling chargers",
               "Under **Manage site → Chargers** the board can set a charger to *Disabled*: it becomes unavailable "
               "and cannot be started. Choose *Enabled* to bring it back. The change is sent to the charger, and "
               "the page shows when it is confirmed."),
    }),
    "personal-chargers-autostart": ("site_admin", 40, {
        "nb": ("Privat lader og autostart",
               "En ladestasjon av typen *Privat (hjemme)* har én eier, og bare eieren kan lade der, med kontoen "
               "eller sin RFID-brikke. Styret setter eieren med e-postadresse; eieren må ha konto og godtatt "
               "invitasjon. Lagrer dere tom eier, fjernes eieren.\n\nEieren kan slå av kravet om identifisering. "
               "Da starter ladingen av seg selv når bilen kobles til (autostart)."),
        "sv": ("Privat laddare och autostart",
               "En laddstation av typen *Privat (hemma)* har en ägare, och bara ägaren kan ladda där, med kontot "
               "eller sin RFID-bricka. Styrelsen anger ägaren med e-postadress; ägaren måste ha konto och "
               "accepterad inbjudan. Sparar ni en tom ägare tas ägaren bort.\n\nÄgaren kan stänga av kravet på "
               "identifiering. Då startar laddningen av sig själv när bilen kopplas in (autostart)."),
        "en": ("Personal chargers and autostart",
               "A charger of type *Personal (home)* has one owner, and only the owner can charge there, with their "
               "account or their RFID tag. The board sets the owner by e-mail; the owner needs an account and an "
               "accepted invite. Saving an empty owner removes the owner.\n\nThe owner may turn authentication "
               "off: then charging starts by itself when the car is plugged in (autostart)."),
    }),
    "ordering-a-charger": ("ordering", 10, {
        "nb": ("Bestille lader til parkeringsplassen",
               "Gå til [Bestill lader](/order) og søk etter borettslaget ditt på navn, adresse, by eller "
               "organisasjonsnummer. Har borettslaget avtale med oss, ser du leveringstid og hvilken lader som "
               "tilbys, og bestiller med et kort skjema. Vi booker en godkjent elektriker som kontakter deg.\n\n"
               "Uten avtale kan vi ikke ta imot bestillinger ennå: snakk med styret, som kan be om et tilbud."),
        "sv": ("Beställa laddare till parkeringsplatsen",
               "Gå till [Beställ laddare](/order) och sök efter din förening på namn, adress, ort eller "
               "organisationsnummer. Har föreningen avtal med oss ser du leveranstid och vilken laddare som "
               "erbjuds, och beställer med ett kort formulär. Vi bokar en behörig elektriker som kontaktar dig.\n\n"
               "Utan avtal kan vi inte ta emot beställningar ännu: prata med styrelsen, som kan begära en offert."),
        "en": ("Ordering a charger for your parking space",
               "Go to [Order a charger](/order) and search for your cooperative by name, address, city or "
               "organisation number. If it has an agreement with us, you see the delivery time and the charger "
               "offered, and order with a short form. We book an approved electrician, who contacts you.\n\n"
               "Without an agreement we cannot take orders yet: talk to your board, who can ask us for an offer."),
    }),
    "contacting-sales": ("ordering", 20, {
        "nb": ("Be om tilbud som styre eller eier",
               "Borettslag, sameier, næringseiendom og andre eiere sender en [forespørsel om tilbud](/contact/sales). "
               "Fortell om dere allerede har ladestasjoner og vil at vi overtar drift, betaling og kundeservice, "
               "eller om dere trenger nytt eller utvidet anlegg. Salg kontakter dere og lager et tilbud. Styrer som "
               "vil utvide eller bytte ladere, bruker det samme skjemaet."),
        "sv": ("Begära offert som styrelse eller ägare",
               "Bostadsrättsföreningar, samfälligheter, kommersiella fastigheter och andra ägare skickar en "
               "[offertförfrågan](/contact/sales). Berätta om ni redan har laddstationer och vill att vi tar över "
               "drift, betalning och kundtjänst, eller om ni behöver en ny eller utökad installation. Sälj kontaktar "
               "er med ett anpassat erbjudande. Styrelser som vill bygga ut eller byta laddare använder samma formulär."),
        "en": ("Requesting a quote as a board or owner",
               "Housing cooperatives, condominiums, commercial property and other owners send a "
               "[quote request](/contact/sales). Say whether you already have chargers and want us to take over "
               "operation, payment and support, or need a new or upgraded installation. Sales contacts you with a "
               "tailored offer. Boards who want to add or replace chargers use the same form."),
    }),
    "when-to-contact-support": ("support", 10, {
        "nb": ("Når skal jeg kontakte kundeservice?",
               "Kundeservice er åpen døgnet rundt, hele året. Ta kontakt hvis du ikke får startet eller stoppet "
               "ladingen, hvis en ladestasjon har feil, ved spørsmål om faktura, betaling eller konto, eller når du "
               "skal komme i gang. Send en [henvendelse](/support) med et bilde av displayet, eller ring oss."),
        "sv": ("När ska jag kontakta kundtjänst?",
               "Kundtjänst har öppet dygnet runt, hela året. Hör av dig om du inte kan starta eller stoppa "
               "laddningen, om en laddstation är trasig, vid frågor om faktura, betalning eller konto, eller när du "
               "ska komma igång. Skicka ett [ärende](/support) med en bild på displayen, eller ring oss."),
        "en": ("When should I contact support?",
               "Support is open around the clock, all year. Get in touch if you cannot start or stop charging, if a "
               "charger is faulty, with questions about invoices, payment or your account, or to get started. "
               "Send a [request](/support) with a photo of the display, or call us."),
    }),
    "defective-charger": ("support", 20, {
        "nb": ("Laderen min er defekt: hvem kontakter jeg?",
               "Kjøpt av oss: vi feilsøker og tar oss av garantien.\n\nKjøpt av en annen leverandør eller "
               "elektriker: de håndterer normalt feilsøking og garanti. Har laderen strøm, viser den feilkoder "
               "eller er den på nett, kan vi likevel gi første hjelp og fjerndiagnostikk.\n\nVet ingen om feilen "
               "sitter i laderen, kablene eller noe annet, bør installatøren spørre vår tekniske support før noen "
               "kjører ut. Veiviseren på [hjelpesiden](/support) leder deg riktig."),
        "sv": ("Min laddare är trasig: vem kontaktar jag?",
               "Köpt av oss: vi felsöker och tar hand om garantin.\n\nKöpt av en annan leverantör eller "
               "elektriker: de sköter normalt felsökning och garanti. Har laddaren ström, visar den felkoder eller "
               "är den uppkopplad kan vi ändå ge första hjälp och fjärrdiagnostik.\n\nVet ingen om felet sitter i "
               "laddaren, kablarna eller något annat bör installatören fråga vår tekniska support innan någon åker "
               "ut. Guiden på [hjälpsidan](/support) visar vägen."),
        "en": ("My charger is defective: who do I contact?",
               "Bought from us: we troubleshoot and handle the warranty.\n\nBought from another supplier or "
               "electrician: they normally handle troubleshooting and warranty. If the charger has power, shows "
               "error codes or is online, we can still give first guidance and remote diagnostics.\n\nIf nobody "
               "can tell whether the charger, the wiring or something else is at fault, the installer should ask "
               "our technical support first, before anyone drives out. The guide on the [help page](/support) "
               "shows the way."),
    }),
    "charging-stations-at-home": ("charging", 30, {
        "nb": ("Hvilke ladestasjoner kan jeg bruke?",
               "Under **Mine ladere** ser du alle ladestasjoner du har tilgang til, med status i sanntid. Tilgang "
               "får du når styret i borettslaget inviterer deg. Mangler en lader, spør styret om en invitasjon."),
        "sv": ("Vilka laddstationer kan jag använda?",
               "Under **Mina laddare** ser du alla laddstationer du har tillgång till, med status i realtid. "
               "Tillgång får du när föreningens styrelse bjuder in dig. Saknas en laddare, be styrelsen om en inbjudan."),
        "en": ("Which charging stations can I use?",
               "Under **My chargers** you see every charger you have access to, with its live status. You get "
               "access when your building's board invites you. If one is missing, ask the board for an invite."),
    }),
}
ARTICLES.update(BILLING_ARTICLES)  # statements, invoices and payment


def seed_faq(session: Session) -> int:
    """Create the articles that do not exist yet (by slug), published; returns how many were added."""
    added = 0
    for slug, (category, position, texts) in ARTICLES.items():
        if article_by_slug(session, slug, include_drafts=True) is not None:
            continue
        save_article(session, None, category=category, published=True, position=position, slug=slug, actor=None,
                     texts={code: ArticleText(title, body) for code, (title, body) in texts.items()})
        added += 1
    return added
