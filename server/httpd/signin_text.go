package httpd

import (
	"net/http"

	"github.com/placard/placard/app/ui"
)

// phoneTexts are the phone's sign-in pages' words, one table per
// language, as the screen has its own (app/ui): every sentence a person
// reads on the phone is here. The pages speak the language of the screen
// the link is for; a page that names no screen speaks the phone's own.
type phoneText struct {
	lang string
	// The form.
	signInTo       string // "Sign in to %s"
	signInToPrefix string // what comes before the screen's name in the heading
	question       string // "Which number does %s show now?"
	label          string
	submit         string
	hint           string // %s: the screen
	then           string // %s: the screen
	badNumber      string // %d: how many digits
	// A group's choice, and the device-code path's page of it.
	showOn      string
	thisScreen  string
	allScreens  string // %d screens, %s the group
	showHint    string
	enterCode   string // before the code
	enterCodeOn string // after it; %s: the screen
	// Outcomes.
	signedIn         string // "%s now shows your day"
	scan             string
	expired          string
	expiredWhy       string
	used             string
	usedWhy          string
	elsewhere        string
	elsewhereWhy     string
	wrongNumber      string
	wrongNumberWhy   string
	invalidState     string
	invalidStateWhy  string
	notThisPage      string
	notThisPageWhy   string
	declined         string
	failed           string
	nothingChanged   string
	nothingChangedOn string // %s: the screen
	tooMany          string
	tooManyWhy       string
	noResult         string
	noResultWhy      string
}

var phoneTexts = map[string]*phoneText{"en": &phoneEnglish, "fr": &phoneFrench}

// phoneTextsFor returns the words of a page for a screen that speaks
// lang, or, when lang is "" (no screen is known), for the phone's own
// language.
func phoneTextsFor(lang string, r *http.Request) *phoneText {
	if lang == "" {
		lang = phoneLang(r)
	}
	if tx, ok := phoneTexts[ui.Lang(lang)]; ok {
		return tx
	}
	return &phoneEnglish
}

var phoneEnglish = phoneText{
	lang:             "en",
	signInTo:         "Sign in to %s",
	signInToPrefix:   "Sign in to",
	question:         "Which number does %s show now?",
	label:            "Number on the screen",
	submit:           "Continue",
	hint:             "Type the number the screen shows. If you cannot see %s, someone sent you this link: close this page.",
	then:             "Then you sign in with your work account on Microsoft’s page, and %s shows your day.",
	badNumber:        "Type the two digits the screen shows.",
	showOn:           "Show your day on",
	thisScreen:       "this screen only",
	allScreens:       "all %d screens of %s",
	showHint:         "Everyone who passes by the screens you choose sees your day, until someone signs you out.",
	enterCode:        "Then, on Microsoft’s page, enter the code",
	enterCodeOn:      "that %s shows.",
	signedIn:         "%s now shows your day",
	scan:             "Scan the QR code the screen shows now to sign in.",
	expired:          "This link has expired",
	expiredWhy:       "A screen’s QR code works for a few minutes, and is replaced with a new one.",
	used:             "This link was already used",
	usedWhy:          "A screen’s QR code works once.",
	elsewhere:        "This link was opened on another phone",
	elsewhereWhy:     "A screen’s QR code works only on the first phone that opens it. If that was not this phone, someone else opened it, perhaps whoever sent it to you: do not sign in with it. To sign in, scan the QR code the screen shows now with your own phone.",
	wrongNumber:      "That is not the number on the screen",
	wrongNumberWhy:   "For safety, this link no longer works and the screen shows a new QR code. If you cannot see the screen, someone sent you this link: do not sign in with it.",
	invalidState:     "This sign-in cannot be finished here",
	invalidStateWhy:  "It was not started in this browser, or it has already ended. Nothing changed.",
	notThisPage:      "This form did not come from this phone’s sign-in page",
	notThisPageWhy:   "Nothing changed.",
	declined:         "Sign-in cancelled",
	failed:           "Sign-in did not work",
	nothingChanged:   "Nothing changed on the screen.",
	nothingChangedOn: "Nothing changed on %s.",
	tooMany:          "Too many tries",
	tooManyWhy:       "This network asked for sign-in pages too often. Wait a few minutes, then scan the screen’s QR code again.",
	noResult:         "Nothing to show here",
	noResultWhy:      "This page says how a sign-in ended, for a few minutes after it did.",
}

var phoneFrench = phoneText{
	lang:             "fr",
	signInTo:         "Connexion à %s",
	signInToPrefix:   "Connexion à",
	question:         "Quel nombre s’affiche sur %s\u202f?",
	label:            "Nombre affiché à l’écran",
	submit:           "Continuer",
	hint:             "Saisissez le nombre que l’écran affiche. Si vous ne voyez pas %s, quelqu’un vous a envoyé ce lien\u00a0: fermez cette page.",
	then:             "Vous vous connectez ensuite avec votre compte professionnel sur la page de Microsoft, et %s affiche votre journée.",
	badNumber:        "Saisissez les deux chiffres que l’écran affiche.",
	showOn:           "Afficher votre journée sur",
	thisScreen:       "cet écran seulement",
	allScreens:       "les %d écrans de %s",
	showHint:         "Tous ceux qui passent devant les écrans choisis voient votre journée, jusqu’à ce que quelqu’un vous déconnecte.",
	enterCode:        "Saisissez ensuite, sur la page de Microsoft, le code",
	enterCodeOn:      "que %s affiche.",
	signedIn:         "%s affiche maintenant votre journée",
	scan:             "Pour vous connecter, scannez le code QR que l’écran affiche maintenant.",
	expired:          "Ce lien a expiré",
	expiredWhy:       "Le code QR d’un écran fonctionne quelques minutes, puis il est remplacé par un nouveau.",
	used:             "Ce lien a déjà servi",
	usedWhy:          "Le code QR d’un écran ne sert qu’une fois.",
	elsewhere:        "Ce lien a été ouvert sur un autre téléphone",
	elsewhereWhy:     "Le code QR d’un écran ne fonctionne que sur le premier téléphone qui l’ouvre. Si ce n’est pas celui-ci, quelqu’un d’autre l’a ouvert, peut-être la personne qui vous l’a envoyé\u00a0: ne vous connectez pas avec. Pour vous connecter, scannez avec votre propre téléphone le code QR que l’écran affiche maintenant.",
	wrongNumber:      "Ce n’est pas le nombre affiché à l’écran",
	wrongNumberWhy:   "Par sécurité, ce lien ne fonctionne plus et l’écran affiche un nouveau code QR. Si vous ne voyez pas l’écran, quelqu’un vous a envoyé ce lien\u00a0: ne vous connectez pas avec.",
	invalidState:     "Cette connexion ne peut pas se terminer ici",
	invalidStateWhy:  "Elle n’a pas commencé dans ce navigateur, ou elle est déjà terminée. Rien n’a changé.",
	notThisPage:      "Ce formulaire ne vient pas de la page de connexion de ce téléphone",
	notThisPageWhy:   "Rien n’a changé.",
	declined:         "Connexion annulée",
	failed:           "La connexion n’a pas abouti",
	nothingChanged:   "Rien n’a changé à l’écran.",
	nothingChangedOn: "Rien n’a changé sur %s.",
	tooMany:          "Trop d’essais",
	tooManyWhy:       "Ce réseau a demandé trop souvent des pages de connexion. Patientez quelques minutes, puis scannez de nouveau le code QR de l’écran.",
	noResult:         "Rien à afficher ici",
	noResultWhy:      "Cette page indique comment une connexion s’est terminée, pendant quelques minutes après.",
}
