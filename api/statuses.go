package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// language is one of the languages lokero answers the public in: its
// value indexes a phrase's texts.
type language int

// The languages: English is the default.
const (
	langEN language = iota
	langFI
	langSV
)

var languageTags = [...]string{langEN: "en", langFI: "fi", langSV: "sv"}

func (l language) String() string { return languageTags[l] }

// parseLanguage is the language of a primary tag ("fi", "sv-FI"...).
func parseLanguage(tag string) (language, bool) {
	primary, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	for l, t := range languageTags {
		if strings.EqualFold(primary, t) {
			return language(l), true
		}
	}
	return 0, false
}

// negotiateLanguage is the language of an answer to the public: ?lang=
// (fi, sv or en; anything else is EINVALID) wins over Accept-Language,
// whose q-values are honoured (the first of equal ones wins; q=0 refuses
// a language); with neither, or none of ours asked for, English.
func negotiateLanguage(r *http.Request) (language, error) {
	if q := r.URL.Query(); q.Has("lang") {
		if n := len(q["lang"]); n > 1 {
			return 0, lokero.Invalid("lang", "duplicate_parameter", "lang is given %d times; give it once", n)
		}
		l, ok := parseLanguage(q.Get("lang"))
		if !ok || strings.Contains(q.Get("lang"), "-") {
			return 0, lokero.Invalid("lang", "unknown_language", "lang is fi, sv or en; got %q", truncate(q.Get("lang"), 16))
		}
		return l, nil
	}
	best, bestQ := langEN, 0.0
	for _, h := range r.Header.Values("Accept-Language") {
		for _, part := range strings.Split(h, ",") {
			tag, params, _ := strings.Cut(part, ";")
			l, ok := parseLanguage(tag)
			if !ok {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // a malformed weight asks for nothing
					}
					q = f
				}
			}
			if q > bestQ {
				best, bestQ = l, q
			}
		}
	}
	return best, nil
}

// setLanguage marks an answer as being in l and as depending on the
// request's Accept-Language.
func setLanguage(w http.ResponseWriter, l language) {
	w.Header().Set("Content-Language", l.String())
	w.Header().Add("Vary", "Accept-Language")
}

// phrase is a text in each language, indexed by language: a format for
// fmt.Sprintf whose arguments are localised by localArg.
type phrase [3]string

func (p phrase) in(l language, args ...any) string {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = localArg(l, a)
	}
	return fmt.Sprintf(p[l], out...)
}

// Values a public sentence carries, written out per language.
type (
	// deliveryDay is a delivery date: ISO in English (as the stored
	// reasons write it), 7.12.2026 in Finnish and Swedish.
	deliveryDay lokero.Date
	// deadlineAt is a storage deadline, to the minute, in Helsinki time.
	deadlineAt time.Time
	// dayOf is a day, in Helsinki, written 7.12.2026 in every language.
	dayOf time.Time
)

func localArg(l language, a any) any {
	switch v := a.(type) {
	case deliveryDay:
		if l == langEN {
			return lokero.Date(v).String()
		}
		return fmt.Sprintf("%d.%d.%d", v.Day, int(v.Month), v.Year)
	case deadlineAt:
		t := time.Time(v).In(calendar.Helsinki)
		switch l {
		case langFI:
			return t.Format("2.1.2006 klo 15.04")
		case langSV:
			return t.Format("2.1.2006 kl. 15.04")
		}
		return t.Format("2.1.2006 15:04")
	case dayOf:
		return time.Time(v).In(calendar.Helsinki).Format("2.1.2006")
	}
	return a
}

// statusText is a status's name and description in one language.
type statusText struct{ name, description phrase }

// statusTexts names every shipment status, as Posti's tracking says it.
var statusTexts = map[lokero.ShipmentStatus]statusText{
	lokero.StatusCreated: {
		phrase{"Shipment information received", "Lähetystiedot vastaanotettu", "Försändelsens uppgifter mottagna"},
		phrase{"The sender has registered the shipment; the parcel has not been handed over for transport yet.",
			"Lähettäjä on ilmoittanut lähetyksen tiedot. Pakettia ei ole vielä luovutettu kuljetukseen.",
			"Avsändaren har meddelat försändelsens uppgifter. Paketet har ännu inte lämnats till transport."}},
	lokero.StatusInTransit: {
		phrase{"In transit", "Kuljetuksessa", "Under transport"},
		phrase{"The parcel is on its way.", "Paketti on matkalla.", "Paketet är på väg."}},
	lokero.StatusInLocker: {
		phrase{"In the parcel locker", "Pakettiautomaatissa", "I paketautomaten"},
		phrase{"The courier has put the parcel in a parcel locker compartment; it can be collected as soon as the notice of arrival is sent.",
			"Kuljettaja on laittanut paketin pakettiautomaatin lokeroon. Sen voi noutaa heti, kun saapumisilmoitus on lähetetty.",
			"Budet har lagt paketet i ett fack i paketautomaten. Det kan hämtas så snart ankomstaviseringen har skickats."}},
	lokero.StatusReadyForPickup: {
		phrase{"Ready for pickup", "Noudettavissa", "Kan hämtas"},
		phrase{"The parcel is waiting to be picked up with the code in the notice of arrival, by the end of its storage period.",
			"Paketti odottaa noutoa. Nouda se saapumisilmoituksessa olevalla koodilla ennen säilytysajan päättymistä.",
			"Paketet väntar på att hämtas. Hämta det med koden i ankomstaviseringen innan förvaringstiden går ut."}},
	lokero.StatusPickedUp: {
		phrase{"Picked up", "Noudettu", "Hämtad"},
		phrase{"The recipient has picked up the parcel.", "Vastaanottaja on noutanut paketin.", "Mottagaren har hämtat paketet."}},
	lokero.StatusExpired: {
		phrase{"Storage period ended", "Säilytysaika päättynyt", "Förvaringstiden har gått ut"},
		phrase{"The parcel was not picked up in time; the courier collects it and it goes back to the sender.",
			"Pakettia ei noudettu ajoissa. Kuljettaja hakee sen, ja se palautetaan lähettäjälle.",
			"Paketet hämtades inte i tid. Budet hämtar det och det returneras till avsändaren."}},
	lokero.StatusReturning: {
		phrase{"Returning to sender", "Palautumassa lähettäjälle", "Returneras till avsändaren"},
		phrase{"The parcel is on its way back to the sender.", "Paketti on matkalla takaisin lähettäjälle.", "Paketet är på väg tillbaka till avsändaren."}},
	lokero.StatusReturnedToSender: {
		phrase{"Returned to sender", "Palautettu lähettäjälle", "Returnerad till avsändaren"},
		phrase{"The parcel has been handed back to the sender.", "Paketti on luovutettu takaisin lähettäjälle.", "Paketet har lämnats tillbaka till avsändaren."}},
	lokero.StatusCancelled: {
		phrase{"Cancelled", "Peruttu", "Annullerad"},
		phrase{"The sender cancelled the shipment before handing it over for transport.",
			"Lähettäjä perui lähetyksen ennen sen luovuttamista kuljetukseen.",
			"Avsändaren annullerade försändelsen innan den lämnades till transport."}},
	lokero.StatusDroppedOff: {
		phrase{"Dropped off", "Jätetty lähetettäväksi", "Inlämnad"},
		phrase{"The parcel has been left at a parcel locker or a service point; the courier collects it from there.",
			"Paketti on jätetty pakettiautomaattiin tai palvelupisteeseen. Kuljettaja noutaa sen sieltä.",
			"Paketet har lämnats in i en paketautomat eller på ett serviceställe. Budet hämtar det därifrån."}},
}

// statusName is a status's name in l; an unknown status is its code.
func statusName(st lokero.ShipmentStatus, l language) string {
	if t, ok := statusTexts[st]; ok {
		return t.name[l]
	}
	return string(st)
}

// statusJSON is a status in the dictionary.
type statusJSON struct {
	Status      lokero.ShipmentStatus `json:"status"`
	Name        string                `json:"name"`
	Description string                `json:"description"`
}

// handleStatuses answers GET /v1/statuses: the shipment statuses, named
// and described in the language the caller asks for.
func (s *Server) handleStatuses(w http.ResponseWriter, r *http.Request) {
	l, err := negotiateLanguage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Language string       `json:"language"`
		Statuses []statusJSON `json:"statuses"`
	}{Language: l.String(), Statuses: make([]statusJSON, 0, len(lokero.ShipmentStatuses))}
	for _, st := range lokero.ShipmentStatuses {
		t := statusTexts[st]
		out.Statuses = append(out.Statuses, statusJSON{Status: st, Name: t.name[l], Description: t.description[l]})
	}
	setLanguage(w, l)
	writeJSON(w, http.StatusOK, out)
}

// The public sentences of tracking. Where the service writes an event's
// reason, the English text here is that reason exactly: an event is
// classified by rendering the English text from the shipment's and the
// event's own values and comparing, so that a reason the service changes
// falls back to its English words instead of a wrong translation.
var (
	pubBooked  = phrase{"Shipment booked.", "Lähettäjä on ilmoittanut lähetyksen tiedot.", "Avsändaren har meddelat försändelsens uppgifter."}
	pubRouting = map[string]phrase{
		routing.RulePickupPoint: {"Shipment booked to the pickup point chosen at checkout.",
			"Lähetys on kirjattu ostoksen yhteydessä valittuun noutopisteeseen.",
			"Försändelsen är registrerad till det utlämningsställe som valdes vid köpet."},
		routing.RuleBuildingLocker: {"Shipment booked to the parcel locker in the recipient's building.",
			"Lähetys on kirjattu vastaanottajan talon pakettiautomaattiin.",
			"Försändelsen är registrerad till paketautomaten i mottagarens hus."},
		routing.RuleNearestPickupPoint: {"Shipment booked to the pickup point nearest to the recipient.",
			"Lähetys on kirjattu vastaanottajaa lähimpään noutopisteeseen.",
			"Försändelsen är registrerad till det utlämningsställe som ligger närmast mottagaren."},
		routing.RuleCODRedirect: {"Shipment booked to the nearest place where cash on delivery can be paid.",
			"Lähetys on kirjattu lähimpään noutopisteeseen, jossa postiennakon voi maksaa.",
			"Försändelsen är registrerad till närmaste utlämningsställe där postförskottet kan betalas."},
		routing.RuleOversizeFallback: {"The parcel is too big for a parcel locker: booked to the nearest post office.",
			"Paketti on liian suuri pakettiautomaattiin: se on kirjattu lähimpään postiin.",
			"Paketet är för stort för en paketautomat: det är registrerat till närmaste postkontor."},
		routing.RuleCapacityOverflow: {"The first-choice parcel locker is full on the delivery day: booked to the nearest locker with room.",
			"Ensisijainen pakettiautomaatti on toimituspäivänä täynnä: lähetys on kirjattu lähimpään automaattiin, jossa on tilaa.",
			"Den paketautomat som valdes först är full på leveransdagen: försändelsen är registrerad till närmaste automat med plats."},
		service.RuleClosureReroute: {"The pickup point is closed on the delivery day: booked to the nearest open one.",
			"Noutopiste on suljettu toimituspäivänä: lähetys on kirjattu lähimpään avoinna olevaan noutopisteeseen.",
			"Utlämningsstället är stängt på leveransdagen: försändelsen är registrerad till närmaste öppna utlämningsställe."},
	}
	pubPrepaid = phrase{"Pre-paid parcel booked; the sender drops it off at a parcel locker with its code.",
		"Ennakkoon maksettu paketti on kirjattu. Lähettäjä jättää sen pakettiautomaattiin paketin koodilla.",
		"Ett förbetalt paket är registrerat. Avsändaren lämnar in det i en paketautomat med paketets kod."}
	pubReturn = phrase{"A return to the store: the return code was entered at a parcel locker.",
		"Palautus verkkokauppaan: palautuskoodi näppäiltiin pakettiautomaatissa.",
		"En retur till butiken: returkoden slogs in vid en paketautomat."}
	pubClosureReroute = phrase{"Re-routed: the pickup point is closed on the delivery day; the parcel goes to the nearest open one.",
		"Ohjattu uudelleen: noutopiste on suljettu toimituspäivänä. Paketti toimitetaan lähimpään avoinna olevaan noutopisteeseen.",
		"Omdirigerad: utlämningsstället är stängt på leveransdagen. Paketet levereras till närmaste öppna utlämningsställe."}
	pubLockerReroute = phrase{"Re-routed at the locker: it is full; the parcel goes to the nearest parcel locker with room.",
		"Ohjattu uudelleen pakettiautomaatilta: automaatti on täynnä. Paketti toimitetaan lähimpään pakettiautomaattiin, jossa on tilaa.",
		"Omdirigerad vid paketautomaten: den är full. Paketet levereras till närmaste paketautomat med plats."}

	pubDispatchReroute = phrase{"Re-routed before delivery: the parcel locker will be full that day; the parcel goes to the nearest parcel locker with room.",
		"Ohjattu uudelleen ennen toimitusta: pakettiautomaatti on toimituspäivänä täynnä. Paketti toimitetaan lähimpään pakettiautomaattiin, jossa on tilaa.",
		"Omdirigerad före leveransen: paketautomaten är full den dagen. Paketet levereras till närmaste paketautomat med plats."}
	pubDispatchBack = phrase{"Back to the chosen pickup point: the parcel locker chosen at checkout has room on the delivery day after all; the parcel goes there.",
		"Ohjattu takaisin valittuun noutopisteeseen: tilauksessa valitussa pakettiautomaatissa on toimituspäivänä sittenkin tilaa. Paketti toimitetaan sinne.",
		"Tillbaka till det valda utlämningsstället: paketautomaten som valdes vid beställningen har ändå plats på leveransdagen. Paketet levereras dit."}

	pubUnreachable = phrase{"The notice of arrival could not be delivered to the recipient.",
		"Saapumisilmoitusta ei saatu toimitettua vastaanottajalle.",
		"Ankomstaviseringen kunde inte levereras till mottagaren."}

	pubHandedOver    = phrase{"Handed over to the carrier.", "Luovutettu kuljetukseen.", "Överlämnad till transport."}
	pubHandedOverOn  = phrase{"Handed over to the carrier; expected on %s.", "Luovutettu kuljetukseen. Arvioitu toimituspäivä %s.", "Överlämnad till transport. Beräknad leveransdag %s."}
	pubShelvesFull   = phrase{"The outlet's shelves are full for that day.", "Palvelupisteen hyllyt ovat sinä päivänä täynnä.", "Serviceställets hyllor är fulla den dagen."}
	pubNoCompartment = phrase{"The locker has no free compartment reserved for that day.",
		"Pakettiautomaatissa ei ole sille päivälle varattua vapaata lokeroa.",
		"Paketautomaten har inget ledigt fack reserverat för den dagen."}
	pubStranded = phrase{"%s is closed that day (%s) and no open point nearby takes the parcel: the operator is told.",
		"%s on suljettu sinä päivänä (%s), eikä mikään lähellä oleva avoin noutopiste voi ottaa pakettia vastaan: asiasta on ilmoitettu operaattorille.",
		"%s är stängt den dagen (%s) och inget öppet utlämningsställe i närheten kan ta emot paketet: operatören har underrättats."}
	// pubStrandedLocker is pubStranded at a residents-only locker, which
	// public tracking does not name (its name is the recipient's building).
	pubStrandedLocker = phrase{"The parcel locker is closed that day (%s) and no open point nearby takes the parcel: the operator is told.",
		"Pakettiautomaatti on suljettu sinä päivänä (%s), eikä mikään lähellä oleva avoin noutopiste voi ottaa pakettia vastaan: asiasta on ilmoitettu operaattorille.",
		"Paketautomaten är stängd den dagen (%s) och inget öppet utlämningsställe i närheten kan ta emot paketet: operatören har underrättats."}

	pubDeposited = phrase{"Put in compartment %d by the courier.", "Kuljettaja laittoi paketin lokeroon %d.", "Budet lade paketet i fack %d."}
	pubReady     = phrase{"Ready for pickup until %s.", "Noudettavissa %s asti.", "Kan hämtas till %s."}
	pubArrived   = phrase{"Arrived at %s: ready for pickup at the counter until %s.",
		"Saapunut palvelupisteeseen %s: noudettavissa palvelupisteestä %s asti.",
		"Har kommit till %s: kan hämtas vid disken till %s."}
	pubNoticeAgain = phrase{"The notice of arrival was sent again.", "Saapumisilmoitus lähetettiin uudelleen.", "Ankomstaviseringen skickades på nytt."}
	pubCodeRotated = phrase{"The opening code was changed by the operator and a new notice of arrival sent.",
		"Operaattori vaihtoi avauskoodin ja lähetti uuden saapumisilmoituksen.",
		"Operatören bytte öppningskoden och skickade en ny ankomstavisering."}
	pubReminder    = phrase{"Reminder sent: the storage period ends on %s.", "Muistutus lähetetty: säilytysaika päättyy %s.", "Påminnelse skickad: förvaringstiden går ut %s."}
	pubCODTerminal = phrase{"Cash on delivery paid at the locker's terminal.",
		"Postiennakko maksettu pakettiautomaatin maksupäätteellä.",
		"Postförskottet har betalats vid paketautomatens betalterminal."}
	pubCODCash = phrase{"Cash on delivery paid at the counter, in cash.", "Postiennakko maksettu palvelupisteessä käteisellä.", "Postförskottet har betalats kontant vid disken."}
	pubCODCard = phrase{"Cash on delivery paid at the counter, by card.", "Postiennakko maksettu palvelupisteessä kortilla.", "Postförskottet har betalats med kort vid disken."}

	pubPickedUp        = phrase{"Picked up by the recipient.", "Vastaanottaja on noutanut paketin.", "Mottagaren har hämtat paketet."}
	pubPickedUpCounter = phrase{"Picked up at the counter by the recipient.", "Vastaanottaja on noutanut paketin palvelupisteestä.", "Mottagaren har hämtat paketet vid disken."}
	pubPickedUpProxy   = phrase{"Picked up at the counter by a representative with a power of attorney.",
		"Valtakirjalla valtuutettu edustaja on noutanut paketin palvelupisteestä.",
		"Ett ombud med fullmakt har hämtat paketet vid disken."}
	pubReturning = phrase{"The recipient is returning the parcel: tracking code %s.",
		"Vastaanottaja palauttaa paketin: palautuksen seurantatunnus %s.",
		"Mottagaren returnerar paketet: returens spårningskod %s."}
	pubExpired = phrase{"The 7-day storage period ended: the parcel goes back to the sender.",
		"Seitsemän päivän säilytysaika päättyi: paketti palautetaan lähettäjälle.",
		"Förvaringstiden på sju dagar har gått ut: paketet returneras till avsändaren."}
	pubCollectedBack = phrase{"Collected by the courier: on its way back to the sender.",
		"Kuljettaja on noutanut paketin: se on matkalla takaisin lähettäjälle.",
		"Budet har hämtat paketet: det är på väg tillbaka till avsändaren."}
	pubCollectedStore = phrase{"Collected by the courier: on its way to the store.",
		"Kuljettaja on noutanut paketin: se on matkalla verkkokauppaan.",
		"Budet har hämtat paketet: det är på väg till butiken."}
	pubCollectedRecipient = phrase{"Collected by the courier: on its way to the recipient.",
		"Kuljettaja on noutanut paketin: se on matkalla vastaanottajalle.",
		"Budet har hämtat paketet: det är på väg till mottagaren."}
	pubCollectedTo = phrase{"Collected by the courier: on its way to %s.",
		"Kuljettaja on noutanut paketin: se on matkalla noutopisteeseen %s.",
		"Budet har hämtat paketet: det är på väg till %s."}
	pubCancelled = phrase{"Cancelled by the sender before handover.",
		"Lähettäjä perui lähetyksen ennen sen luovuttamista kuljetukseen.",
		"Avsändaren annullerade försändelsen innan den lämnades till transport."}
	pubReturnDelivered = phrase{"The return was delivered to the store.", "Palautus on toimitettu verkkokauppaan.", "Returen har levererats till butiken."}
	pubHandedBack      = phrase{"Handed back to the sender.", "Paketti on luovutettu takaisin lähettäjälle.", "Paketet har lämnats tillbaka till avsändaren."}
	pubDroppedOff      = phrase{"Dropped off in compartment %d; the courier collects it from here.",
		"Jätetty lokeroon %d. Kuljettaja noutaa paketin täältä.",
		"Inlämnat i fack %d. Budet hämtar paketet härifrån."}
	pubDroppedCounter = phrase{"Dropped off at the counter of %s; the courier collects it from there.",
		"Jätetty palvelupisteeseen %s. Kuljettaja noutaa paketin sieltä.",
		"Inlämnat vid disken på %s. Budet hämtar paketet därifrån."}
	pubDropOpened = phrase{"Compartment %d opened for the drop-off.", "Lokero %d avattiin paketin jättämistä varten.", "Fack %d öppnades för inlämningen."}
)

// sentence is a phrase with its values.
type sentence struct {
	p    phrase
	args []any
}

// text is a public event's words: sentences joined with spaces.
type text []sentence

func (t text) in(l language) string {
	parts := make([]string, len(t))
	for i, s := range t {
		parts[i] = s.p.in(l, s.args...)
	}
	return strings.Join(parts, " ")
}

var (
	firstNumber = regexp.MustCompile(`[0-9]+`)
	s10Code     = regexp.MustCompile(`[A-Z]{2}[0-9]{9}[A-Z]{2}`)
)

// eventText classifies a public event whose reason the service wrote:
// the candidates its status allows, each rendered in English from the
// shipment's, the event's and the directory's values, and the one equal
// to the reason wins. ok is false for an event it cannot classify.
// byID finds a place in the directory.
func eventText(sh *lokero.Shipment, e lokero.ShipmentEvent, byID func(string) *lokero.Location) (t text, ok bool) {
	name := func(id string) (string, bool) {
		if l := byID(id); l != nil && l.Access != lokero.AccessResidents {
			return l.Name, true
		}
		return "", false
	}
	one := func(p phrase, args ...any) text { return text{{p, args}} }
	var cands []text
	unnamed := false // the reason names a residents-only locker: published without its name
	number := 0
	if m := firstNumber.FindString(e.Reason); m != "" {
		number, _ = strconv.Atoi(m)
	}
	switch e.Status {
	case lokero.StatusCreated:
		cands = append(cands, one(pubDropOpened, number))
	case lokero.StatusInTransit:
		cands = append(cands, one(pubHandedOver), one(pubCollectedStore), one(pubCollectedRecipient))
		if n, ok := name(sh.DestinationID); ok {
			cands = append(cands, one(pubCollectedTo, n))
		}
		on := sentence{pubHandedOverOn, []any{deliveryDay(sh.DeliveryDate)}}
		suffixes := [][]sentence{nil, {{pubShelvesFull, nil}}, {{pubNoCompartment, nil}}}
		if d := byID(sh.DestinationID); d != nil {
			stranded := sentence{pubStranded, []any{d.Name, d.ClosedReason(sh.DeliveryDate.String())}}
			unnamed = d.Access == lokero.AccessResidents
			suffixes = append(suffixes, []sentence{stranded}, []sentence{{pubShelvesFull, nil}, stranded}, []sentence{{pubNoCompartment, nil}, stranded})
		}
		for _, sfx := range suffixes {
			cands = append(cands, append(text{on}, sfx...))
		}
	case lokero.StatusInLocker:
		cands = append(cands, one(pubDeposited, number))
	case lokero.StatusReadyForPickup:
		cands = append(cands, one(pubReady, deadlineAt(sh.StorageDeadline)), one(pubNoticeAgain), one(pubCodeRotated),
			one(pubReminder, dayOf(sh.StorageDeadline.Add(-time.Minute))), one(pubCODTerminal), one(pubCODCash), one(pubCODCard))
		if n, ok := name(e.LocationID); ok {
			cands = append(cands, one(pubArrived, n, deadlineAt(sh.StorageDeadline)))
		}
	case lokero.StatusPickedUp:
		cands = append(cands, one(pubPickedUp), one(pubPickedUpCounter), one(pubPickedUpProxy))
		if code := s10Code.FindString(e.Reason); code != "" {
			cands = append(cands, one(pubReturning, code))
		}
	case lokero.StatusExpired:
		cands = append(cands, one(pubExpired))
	case lokero.StatusReturning:
		cands = append(cands, one(pubCollectedBack))
	case lokero.StatusCancelled:
		cands = append(cands, one(pubCancelled))
	case lokero.StatusReturnedToSender:
		cands = append(cands, one(pubReturnDelivered), one(pubHandedBack))
	case lokero.StatusDroppedOff:
		cands = append(cands, one(pubDroppedOff, number))
		if n, ok := name(e.LocationID); ok {
			cands = append(cands, one(pubDroppedCounter, n))
		}
	}
	for _, c := range cands {
		if c.in(langEN) == e.Reason {
			if unnamed {
				c = c.withoutLockerName()
			}
			return c, true
		}
	}
	return nil, false
}

// withoutLockerName is t with its sentence of a stranded parcel naming no
// place: the place is a residents-only locker.
func (t text) withoutLockerName() text {
	out := slices.Clone(t)
	for i, s := range out {
		if s.p == pubStranded {
			out[i] = sentence{pubStrandedLocker, s.args[1:]}
		}
	}
	return out
}

// namesResidentsLocker reports whether an event's reason names a
// residents-only locker of the event or of the shipment by its name or
// street: such a reason, unclassified, is not public as it is.
func namesResidentsLocker(sh *lokero.Shipment, e lokero.ShipmentEvent, byID func(string) *lokero.Location) bool {
	for _, id := range [...]string{e.LocationID, sh.DestinationID} {
		l := byID(id)
		if l == nil || l.Access != lokero.AccessResidents {
			continue
		}
		for _, s := range [...]string{l.Name, l.Street} {
			if s = strings.TrimSpace(s); s != "" && strings.Contains(e.Reason, s) {
				return true
			}
		}
	}
	return false
}
