package ui

import (
	"fmt"
	"strings"
	"time"

	// The screen shows times in its configured zone, which may not be the
	// browser's: the zone database travels in app.wasm (~450 kB raw,
	// ~100 kB compressed) so that the Wasm and the server's prerender
	// format times identically.
	_ "time/tzdata"

	"github.com/placard/placard/app/wire"
)

// texts are the screen's words in one language. Every sentence a person
// reads is here, so that a language is one table.
type texts struct {
	signInTo       string // "Sign in to %s"
	step1          string
	step2          string
	scan           string
	orOpen         string // the device code's address, after the QR code
	scanToSignIn   string
	scanHow        string
	typeNumber     string
	codeBlocked    string
	qrLabel        string
	expiresIn      string // "Code expires in %s"
	linkExpiresIn  string // "Link expires in %s": no code shown, only the QR code's link
	newCodeSoon    string
	pairingTitle   string
	pairingHow     string            // "%s" is the number
	linkWhy        map[string]string // why a screen opened with a provisioning link waits (wire.Link*)
	identifyHow    string            // under the number that identifies a screen
	connecting     string
	reconnecting   string
	today          string
	tomorrow       string
	nothingToday   string
	nothingElse    string
	allDay         string
	cancelled      string
	now            string
	next           string
	busy           string
	free           string
	updated        string // "Updated %s"
	stale          string // "Not updated since %s"
	signOut        string
	book15, book30 string
	booked         string // "Booked %s"
	bookFailed     string
	bookFailedWhy  string            // "Could not book: %s"
	bookProblems   map[string]string // why a booking failed (wire.Book*)
	errorCode      string            // "Code for IT: %s"
	nextTry        string            // "Trying again at %s"
	waitingForIT   string
	privateMeeting string
	private        string // an event marked private by its owner
	untitled       string
	freeAt         string // "Free at %s": when a run of meetings ends
	freeUntil      string // "Free until %s": when the next meeting starts
	freeRestOfDay  string
	tomorrowAt     string // "Tomorrow %s · %s": the time and the subject
	confirmBook    string // "Book %s?"
	confirm        string
	cancel         string
	bookingNow     string
	days           [7]string
	months         [12]string
	problems       map[string][2]string // kind → title, message
	availability   map[string]string
	activity       map[string]string

	// Boards.
	boardTitle    map[string]string // a board's title when it has none, by kind
	boardEmpty    map[string]string // a board with nothing to show, by kind
	pageOf        string            // "Page %d of %d"
	boardStale    string            // "As of %s": a board Graph could not read for a while, short enough for its top line
	roomBusy      string            // a room that is busy (a room's gender, in French)
	roomBusyUntil string            // "Busy until %s"
	nextLabel     string            // "Next": a room's next meeting
	seat          [2]string         // "seat", "seats": after a room's capacity
	floor         string            // "Floor": before a room's floor number
	// consent are the sentences of a board the account may not read
	// (wire.Consent), for one permission then for several: [0] an
	// administrator can grant it, [1] the person signing in again, [2]
	// consent was refused; %s is the permissions' names.
	consent [2][3]string
	and     string // joins the last two permissions' names
}

// Language is a language a screen speaks: its tag and its own name.
type Language struct{ Tag, Name string }

// languages are the languages a screen speaks; English, first, is the
// fallback.
var languages = []struct {
	Language
	tx *texts
}{{Language{"en", "English"}, &english}, {Language{"fr", "Français"}, &french}}

// Languages are the languages screens speak, English first.
func Languages() []Language {
	out := make([]Language, len(languages))
	for i, l := range languages {
		out[i] = l.Language
	}
	return out
}

// Lang is the language a screen speaks for the language tag it was given:
// the tag's primary language when the screen has its texts ("fr" for
// "fr-CA"), else English.
func Lang(tag string) string { return languages[langIndex(tag)].Tag }

// LanguageName is the name of the language a screen speaks for a tag.
func LanguageName(tag string) string { return languages[langIndex(tag)].Name }

func textsFor(tag string) *texts { return languages[langIndex(tag)].tx }

func langIndex(tag string) int {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	for i, l := range languages {
		if l.Tag == primary {
			return i
		}
	}
	return 0
}

var english = texts{
	signInTo:      "Sign in to %s",
	step1:         "On your phone, open",
	step2:         "and enter the code",
	scan:          "or scan",
	orOpen:        "Or, on your phone, open",
	scanToSignIn:  "Scan to sign in",
	scanHow:       "Point your phone’s camera at the QR code, then sign in with your work account.",
	typeNumber:    "On your phone, type",
	codeBlocked:   "Your organisation blocks sign-in with a code, so this screen signs in by QR code.",
	qrLabel:       "QR code to sign in with a phone",
	expiresIn:     "Code expires in %s",
	linkExpiresIn: "Link expires in %s",
	newCodeSoon:   "A new code is on its way",
	pairingTitle:  "This screen is not enrolled yet",
	pairingHow:    "An administrator approves it on the admin page or with: placard screens approve %s",
	linkWhy: map[string]string{
		wire.LinkExpired:      "Its provisioning link has expired.",
		wire.LinkRevoked:      "Its provisioning link was revoked.",
		wire.LinkUsedUp:       "Its provisioning link has enrolled all the screens it may.",
		wire.LinkInvalid:      "Its provisioning link does not work.",
		wire.LinkGroupRemoved: "The group of its provisioning link was removed.",
	},
	identifyHow:  "The administrator’s page shows this number beside this screen.",
	connecting:   "Connecting…",
	reconnecting: "Reconnecting…",
	today:        "Today",
	tomorrow:     "Tomorrow",
	nothingToday: "Nothing on the calendar today",
	nothingElse:  "Nothing else today",
	allDay:       "All day",
	cancelled:    "Cancelled",
	now:          "Now",
	next:         "Next",
	busy:         "Busy",
	free:         "Free",
	updated:      "Updated %s",
	stale:        "Not updated since %s",
	signOut:      "Sign out",
	book15:       "Book 15 min",
	book30:       "Book 30 min",
	booked:       "Booked %s",
	bookFailed:   "Could not book",
	bookProblems: map[string]string{
		wire.BookNotAllowed:    "this account has not allowed booking",
		wire.BookNoCalendar:    "this account has no calendar",
		wire.BookBusy:          "Microsoft 365 is busy, try again in a minute",
		wire.BookTooMany:       "too many bookings lately, try again later",
		wire.BookScreenRefused: "this screen may not book",
	},
	errorCode:      "Code for IT: %s",
	nextTry:        "Trying again at %s",
	waitingForIT:   "An administrator needs to act before this screen can sign in.",
	privateMeeting: "Busy",
	private:        "Private",
	untitled:       "No title",
	freeAt:         "Free at %s",
	freeUntil:      "Free until %s",
	freeRestOfDay:  "Free for the rest of the day",
	tomorrowAt:     "Tomorrow %s · %s",
	confirmBook:    "Book %s?",
	confirm:        "Book it",
	cancel:         "Cancel",
	bookingNow:     "Booking…",
	days:           [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	months:         [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	problems: map[string][2]string{
		wire.ProblemDeclined:      {"Sign-in declined", "Someone declined the sign-in on their phone. A new code will appear in a moment."},
		wire.ProblemExpired:       {"The code expired", "Nobody used the code in time. A new code will appear in a moment."},
		wire.ProblemBlocked:       {"Sign-in with a code is blocked", "Your organisation's Conditional Access policy blocks signing in with a code on this device. Ask IT to allow this screen."},
		wire.ProblemSignedOut:     {"Signed out", "This screen was signed out. A new code will appear in a moment."},
		wire.ProblemRefreshFailed: {"Please sign in again", "The sign-in on this screen ended (the password changed, the session was revoked or a policy changed). A new code will appear in a moment."},
		wire.ProblemUnreachable:   {"Microsoft sign-in cannot be reached", "The screen keeps trying by itself."},
		wire.ProblemRateLimited:   {"Too many sign-in codes", "This screen asked for codes too often. It will try again by itself."},
		wire.ProblemTenant:        {"Account not allowed here", "That account belongs to an organisation this screen does not accept. A new code will appear in a moment."},
		wire.ProblemCodeBlocked:   {"Sign-in with a code is blocked", "Your organisation blocks sign-in with a code. An administrator can set this screen’s Sign-in to “QR code” on the admin page (or -sign-in qr for every screen)."},
		wire.ProblemWrongNumber:   {"Wrong number picked", "The phone picked another number than the one this screen showed. A new QR code will appear in a moment."},
		wire.ProblemFailed:        {"Sign-in did not work", "Something went wrong while signing in. The screen will try again by itself."},
	},
	availability: map[string]string{
		"Available": "Available", "AvailableIdle": "Available", "Away": "Away", "BeRightBack": "Be right back",
		"Busy": "Busy", "BusyIdle": "Busy", "DoNotDisturb": "Do not disturb", "Offline": "Offline",
		"PresenceUnknown": "Status unknown",
	},
	activity: map[string]string{
		"InACall": "In a call", "InAConferenceCall": "In a conference call", "InAMeeting": "In a meeting",
		"Presenting": "Presenting", "OutOfOffice": "Out of office", "OffWork": "Off work", "Inactive": "Inactive",
		"UrgentInterruptionsOnly": "Urgent interruptions only",
	},
	boardTitle:    map[string]string{wire.BoardRooms: "Rooms", wire.BoardPeople: "Team"},
	boardEmpty:    map[string]string{wire.BoardRooms: "No rooms to show", wire.BoardPeople: "Nobody to show"},
	pageOf:        "Page %d of %d",
	boardStale:    "As of %s",
	roomBusy:      "Busy",
	roomBusyUntil: "Busy until %s",
	nextLabel:     "Next",
	seat:          [2]string{"seat", "seats"},
	floor:         "Floor",
	consent: [2][3]string{{
		"This board needs the permission %s, which an administrator of your organisation must grant.",
		"This board needs the permission %s: sign in to this screen again and accept it.",
		"Your organisation refused the permission %s that this board needs. An administrator of your organisation can grant it.",
	}, {
		"This board needs the permissions %s, which an administrator of your organisation must grant.",
		"This board needs the permissions %s: sign in to this screen again and accept them.",
		"Your organisation refused the permissions %s that this board needs. An administrator of your organisation can grant them.",
	}},
	and: "and",
}

var french = texts{
	signInTo:      "Connexion à %s",
	step1:         "Sur votre téléphone, ouvrez",
	step2:         "et saisissez le code",
	scan:          "ou scannez",
	orOpen:        "Ou, sur votre téléphone, ouvrez",
	scanToSignIn:  "Scannez pour vous connecter",
	scanHow:       "Visez le QR code avec l’appareil photo de votre téléphone, puis connectez-vous avec votre compte professionnel.",
	typeNumber:    "Sur votre téléphone, saisissez",
	codeBlocked:   "Votre organisation bloque la connexion par code : cet écran se connecte par QR code.",
	qrLabel:       "QR code pour se connecter avec un téléphone",
	expiresIn:     "Le code expire dans %s",
	linkExpiresIn: "Le lien expire dans %s",
	newCodeSoon:   "Un nouveau code arrive",
	pairingTitle:  "Cet écran n’est pas encore enregistré",
	pairingHow:    "Un administrateur l’approuve sur la page d’administration ou avec : placard screens approve %s",
	linkWhy: map[string]string{
		wire.LinkExpired:      "Son lien d’enregistrement a expiré.",
		wire.LinkRevoked:      "Son lien d’enregistrement a été révoqué.",
		wire.LinkUsedUp:       "Son lien d’enregistrement a enregistré tous les écrans prévus.",
		wire.LinkInvalid:      "Son lien d’enregistrement ne fonctionne pas.",
		wire.LinkGroupRemoved: "Le groupe de son lien d’enregistrement a été supprimé.",
	},
	identifyHow:  "La page d’administration affiche ce numéro à côté de cet écran.",
	connecting:   "Connexion…",
	reconnecting: "Reconnexion…",
	today:        "Aujourd’hui",
	tomorrow:     "Demain",
	nothingToday: "Rien à l’agenda aujourd’hui",
	nothingElse:  "Plus rien aujourd’hui",
	allDay:       "Toute la journée",
	cancelled:    "Annulé",
	now:          "En cours",
	next:         "Ensuite",
	busy:         "Occupé",
	free:         "Libre",
	updated:      "Mis à jour à %s",
	stale:        "Pas de mise à jour depuis %s",
	signOut:      "Se déconnecter",
	book15:       "Réserver 15 min",
	book30:       "Réserver 30 min",
	booked:       "Réservé %s",
	bookFailed:   "Réservation impossible",
	bookProblems: map[string]string{
		wire.BookNotAllowed:    "ce compte n’autorise pas les réservations",
		wire.BookNoCalendar:    "ce compte n’a pas d’agenda",
		wire.BookBusy:          "Microsoft 365 est occupé, réessayez dans une minute",
		wire.BookTooMany:       "trop de réservations récentes, réessayez plus tard",
		wire.BookScreenRefused: "cet écran ne peut pas réserver",
	},
	errorCode:      "Code pour le support : %s",
	nextTry:        "Nouvel essai à %s",
	waitingForIT:   "Un administrateur doit intervenir avant que cet écran puisse se connecter.",
	privateMeeting: "Occupé",
	private:        "Privé",
	untitled:       "Sans titre",
	freeAt:         "Libre à %s",
	freeUntil:      "Libre jusqu’à %s",
	freeRestOfDay:  "Libre jusqu’à ce soir",
	tomorrowAt:     "Demain %s · %s",
	confirmBook:    "Réserver %s ?",
	confirm:        "Réserver",
	cancel:         "Annuler",
	bookingNow:     "Réservation…",
	days:           [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
	months:         [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	problems: map[string][2]string{
		wire.ProblemDeclined:      {"Connexion refusée", "Quelqu’un a refusé la connexion sur son téléphone. Un nouveau code va apparaître."},
		wire.ProblemExpired:       {"Le code a expiré", "Personne n’a utilisé le code à temps. Un nouveau code va apparaître."},
		wire.ProblemBlocked:       {"La connexion par code est bloquée", "La stratégie d’accès conditionnel de votre organisation bloque la connexion par code sur cet appareil. Demandez au support d’autoriser cet écran."},
		wire.ProblemSignedOut:     {"Déconnecté", "Cet écran a été déconnecté. Un nouveau code va apparaître."},
		wire.ProblemRefreshFailed: {"Veuillez vous reconnecter", "La session de cet écran a pris fin (mot de passe changé, session révoquée ou stratégie modifiée). Un nouveau code va apparaître."},
		wire.ProblemUnreachable:   {"La connexion Microsoft est injoignable", "L’écran réessaie tout seul."},
		wire.ProblemRateLimited:   {"Trop de codes demandés", "Cet écran a demandé trop de codes. Il réessaiera tout seul."},
		wire.ProblemTenant:        {"Compte non autorisé ici", "Ce compte appartient à une organisation que cet écran n’accepte pas. Un nouveau code va apparaître."},
		wire.ProblemCodeBlocked:   {"La connexion par code est bloquée", "Votre organisation bloque la connexion par code. Un administrateur peut régler la connexion de cet écran sur « QR code » dans la page d’administration (ou -sign-in qr pour tous les écrans)."},
		wire.ProblemWrongNumber:   {"Mauvais nombre choisi", "Le téléphone a choisi un autre nombre que celui affiché sur cet écran. Un nouveau QR code va apparaître."},
		wire.ProblemFailed:        {"La connexion a échoué", "Une erreur est survenue pendant la connexion. L’écran réessaiera tout seul."},
	},
	availability: map[string]string{
		"Available": "Disponible", "AvailableIdle": "Disponible", "Away": "Absent", "BeRightBack": "De retour bientôt",
		"Busy": "Occupé", "BusyIdle": "Occupé", "DoNotDisturb": "Ne pas déranger", "Offline": "Hors ligne",
		"PresenceUnknown": "Statut inconnu",
	},
	activity: map[string]string{
		"InACall": "En appel", "InAConferenceCall": "En conférence", "InAMeeting": "En réunion",
		"Presenting": "Présente", "OutOfOffice": "Absent du bureau", "OffWork": "Hors travail", "Inactive": "Inactif",
		"UrgentInterruptionsOnly": "Urgences uniquement",
	},
	boardTitle:    map[string]string{wire.BoardRooms: "Salles", wire.BoardPeople: "Équipe"},
	boardEmpty:    map[string]string{wire.BoardRooms: "Aucune salle à afficher", wire.BoardPeople: "Personne à afficher"},
	pageOf:        "Page %d sur %d",
	boardStale:    "Données de %s",
	roomBusy:      "Occupée",
	roomBusyUntil: "Occupée jusqu’à %s",
	nextLabel:     "Ensuite",
	seat:          [2]string{"place", "places"},
	floor:         "Étage",
	consent: [2][3]string{{
		"Ce tableau a besoin de l’autorisation %s, qu’un administrateur de votre organisation doit accorder.",
		"Ce tableau a besoin de l’autorisation %s : reconnectez cet écran et acceptez-la.",
		"Votre organisation a refusé l’autorisation %s dont ce tableau a besoin. Un administrateur de votre organisation peut l’accorder.",
	}, {
		"Ce tableau a besoin des autorisations %s, qu’un administrateur de votre organisation doit accorder.",
		"Ce tableau a besoin des autorisations %s : reconnectez cet écran et acceptez-les.",
		"Votre organisation a refusé les autorisations %s dont ce tableau a besoin. Un administrateur de votre organisation peut les accorder.",
	}},
	and: "et",
}

// clock formats the time of day: "14:05", or "2:05 PM" on a 12-hour screen.
func clock(t time.Time, sc wire.Screen) string {
	t = t.In(wire.Zone(sc.TimeZone))
	// French is read on a 24-hour clock.
	if sc.Clock24 || Lang(sc.Lang) == "fr" {
		return t.Format("15:04")
	}
	return t.Format("3:04 PM")
}

// date formats the day: "Monday 23 November" ("lundi 23 novembre").
func date(t time.Time, sc wire.Screen) string {
	t = t.In(wire.Zone(sc.TimeZone))
	tx := textsFor(sc.Lang)
	return fmt.Sprintf("%s %d %s", tx.days[t.Weekday()], t.Day(), tx.months[t.Month()-1])
}

// countdown formats the time left as a person reads it: "14:32", "0:05".
func countdown(left time.Duration) string {
	if left < 0 {
		left = 0
	}
	s := int(left.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// presenceWords are the availability ("Busy") and the activity ("In a
// call") when it says more than the availability.
func presenceWords(p wire.Presence, lang string) (word, activity string) {
	tx := textsFor(lang)
	word = tx.availability[p.Availability]
	if word == "" {
		word = p.Availability
	}
	return word, tx.activity[p.Activity]
}

// timeRange formats a span of time: "09:30–10:00", "9:30–10:00 AM".
func timeRange(start, end time.Time, sc wire.Screen) string {
	a, b := clock(start, sc), clock(end, sc)
	if as, ok := strings.CutSuffix(a, " AM"); ok && strings.HasSuffix(b, " AM") {
		a = as
	} else if as, ok := strings.CutSuffix(a, " PM"); ok && strings.HasSuffix(b, " PM") {
		a = as
	}
	return a + "–" + b
}

// consentSentence says which permissions a board lacks and who can grant
// them: "This board needs the permission Place.Read.All, which an
// administrator of your organisation must grant."
func consentSentence(c wire.Consent, tx *texts) string {
	var names []string
	for _, p := range c.Permissions {
		if p = strings.TrimSpace(p); p != "" {
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		names = []string{"?"}
	}
	list, sentences := names[0], tx.consent[0]
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " " + tx.and + " " + names[n-1]
		sentences = tx.consent[1]
	}
	switch {
	case c.Refused:
		return fmt.Sprintf(sentences[2], list)
	case c.By == wire.ConsentUser:
		return fmt.Sprintf(sentences[1], list)
	}
	return fmt.Sprintf(sentences[0], list)
}
