package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/placard/placard/app/wire"
)

// recurrence is a series' pattern and range, the parts of Graph's
// patternedRecurrence the sandbox emulates: daily and weekly patterns,
// with an end date, a number of occurrences or no end. Monthly and yearly
// patterns are not emulated (docs/sandbox.md).
// https://learn.microsoft.com/en-us/graph/api/resources/patternedrecurrence
type recurrence struct {
	Pattern  string   // daily or weekly
	Interval int      // every Interval days or weeks
	Days     []string // weekly: monday, tuesday, ...
	// RangeType is endDate, noEnd or numbered; StartDate and EndDate are
	// dates in Zone (IANA), Count the number of occurrences.
	RangeType          string
	StartDate, EndDate string
	Count              int `json:",omitempty"`
	Zone               string
}

var weekdayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// occurrenceKey names an occurrence by its original start.
func occurrenceKey(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// occurrenceID is the id of an occurrence in its master's calendar: each
// occurrence has an id of its own.
func occurrenceID(master calEvent, original time.Time) string {
	return eventID("occurrence", master.ID, occurrenceKey(original))
}

// occurrenceDates calls f with the start of each occurrence of master, in
// order, from the first that may start after from (a week early), until f
// returns false.
func occurrenceDates(master calEvent, from time.Time, f func(start time.Time) bool) {
	r := master.Recurrence
	if r == nil || r.Interval < 1 {
		return
	}
	loc := wire.Zone(r.Zone)
	first, err := time.ParseInLocation("2006-01-02", r.StartDate, loc)
	if err != nil {
		return
	}
	var last time.Time
	if r.RangeType == "endDate" {
		if last, err = time.ParseInLocation("2006-01-02", r.EndDate, loc); err != nil {
			return
		}
	}
	local := master.Start.In(loc)
	clock := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute + time.Duration(local.Second())*time.Second
	// Weeks count from the Sunday of the week the series starts in
	// (firstDayOfWeek, sunday by default).
	weekStart := first.AddDate(0, 0, -int(first.Weekday()))
	n, day := 0, first
	if skip := from.In(loc).AddDate(0, 0, -8); r.RangeType != "numbered" && skip.After(first) {
		// Straight to the window: only a numbered series needs counting
		// from its start.
		day = time.Date(skip.Year(), skip.Month(), skip.Day(), 0, 0, 0, 0, loc)
	}
	for ; ; day = day.AddDate(0, 0, 1) {
		if r.RangeType == "endDate" && day.After(last) {
			return
		}
		var on bool
		switch r.Pattern {
		case "daily":
			on = int(day.Sub(first).Round(24*time.Hour)/(24*time.Hour))%r.Interval == 0
		case "weekly":
			week := int(day.Sub(weekStart).Round(24*time.Hour)/(24*time.Hour)) / 7
			on = week%r.Interval == 0 && slices.Contains(r.Days, weekdayNames[day.Weekday()])
		default:
			return
		}
		if !on {
			continue
		}
		if !f(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Add(clock)) {
			return
		}
		if n++; r.RangeType == "numbered" && n >= r.Count {
			return
		}
		if n > 100_000 {
			return // a series of centuries: the window is long past
		}
	}
}

// occurrences expands master into owner's occurrences that overlap [from,
// to), with what became of each in this calendar.
func occurrences(master calEvent, owner *user, from, to time.Time) []calEvent {
	d := master.End.Sub(master.Start)
	var out []calEvent
	occurrenceDates(master, from.Add(-d), func(start time.Time) bool {
		if !start.Before(to) {
			return false
		}
		if start.Add(d).After(from) {
			if occ, ok := occurrence(master, start); ok {
				out = append(out, occ)
			}
		}
		return true
	})
	return out
}

// occurrenceOn is the occurrence of master that starts on day (a local
// midnight), if there is one and it was not removed.
func occurrenceOn(master calEvent, day time.Time) (calEvent, bool) {
	var found time.Time
	next := day.AddDate(0, 0, 1)
	occurrenceDates(master, day, func(start time.Time) bool {
		if !start.Before(next) {
			return false
		}
		if !start.Before(day) {
			found = start
			return false
		}
		return true
	})
	if found.IsZero() {
		return calEvent{}, false
	}
	return occurrence(master, found)
}

// occurrence is the occurrence of master that was to start at original,
// as its exception changed it; false when it was removed.
func occurrence(master calEvent, original time.Time) (calEvent, bool) {
	occ := master
	occ.ID = occurrenceID(master, original)
	occ.Type, occ.SeriesMasterID, occ.OriginalStart = typeOccurrence, master.ID, original
	occ.Start, occ.End = original, original.Add(master.End.Sub(master.Start))
	occ.Recurrence, occ.Exceptions = nil, nil
	occ.Attendees = slices.Clone(master.Attendees)
	c := master.Exceptions[occurrenceKey(original)]
	if c == nil {
		return occ, true
	}
	if c.Removed {
		return calEvent{}, false
	}
	if !c.Start.IsZero() {
		occ.Start, occ.End, occ.Type = c.Start, c.End, typeException
	}
	occ.Cancelled = occ.Cancelled || c.Cancelled
	if c.Response != "" {
		occ.Response, occ.ResponseTime = c.Response, c.ResponseTime
	}
	for i, a := range occ.Attendees {
		if ca, ok := c.Attendees[strings.ToLower(a.Address)]; ok {
			occ.Attendees[i] = ca
		}
	}
	if !c.Modified.IsZero() {
		occ.Modified = c.Modified
	}
	return occ, true
}

// recurrenceJSON is Graph's patternedRecurrence of r.
func recurrenceJSON(r *recurrence) map[string]any {
	if r == nil {
		return nil
	}
	days := r.Days
	if days == nil {
		days = []string{}
	}
	end, count := "0001-01-01", 0
	switch r.RangeType {
	case "endDate":
		end = r.EndDate
	case "numbered":
		count = r.Count
	}
	return map[string]any{
		"pattern": map[string]any{"type": r.Pattern, "interval": r.Interval, "month": 0, "dayOfMonth": 0,
			"daysOfWeek": days, "firstDayOfWeek": "sunday", "index": "first"},
		"range": map[string]any{"type": r.RangeType, "startDate": r.StartDate, "endDate": end,
			"recurrenceTimeZone": windowsName(r.Zone), "numberOfOccurrences": count},
	}
}

// recurrenceBody is a patternedRecurrence as a request sends it.
type recurrenceBody struct {
	Pattern struct {
		Type       string   `json:"type"`
		Interval   int      `json:"interval"`
		DaysOfWeek []string `json:"daysOfWeek"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone"`
	} `json:"range"`
}

// readRecurrence checks a request's recurrence for an event starting at
// start (in zone): the recurrence, or why it is refused. The texts of the
// refusals are unconfirmed.
func readRecurrence(b *recurrenceBody, start time.Time, zone string) (*recurrence, string) {
	r := &recurrence{Pattern: strings.ToLower(b.Pattern.Type), Interval: b.Pattern.Interval, RangeType: b.Range.Type,
		StartDate: b.Range.StartDate, EndDate: b.Range.EndDate, Count: b.Range.NumberOfOccurrences, Zone: zone}
	if b.Range.RecurrenceTimeZone != "" {
		loc, ok := zoneByName(b.Range.RecurrenceTimeZone)
		if !ok {
			return nil, fmt.Sprintf("Your request can't be completed. The recurrence time zone '%s' is not valid.", b.Range.RecurrenceTimeZone)
		}
		r.Zone = loc.String()
	}
	switch r.Pattern {
	case "daily":
	case "weekly":
		for _, d := range b.Pattern.DaysOfWeek {
			d = strings.ToLower(d)
			if !slices.Contains(weekdayNames, d) {
				return nil, fmt.Sprintf("Your request can't be completed. Requested value '%s' was not found.", d)
			}
			r.Days = append(r.Days, d)
		}
		if len(r.Days) == 0 {
			return nil, "Your request can't be completed. A weekly recurrence needs daysOfWeek."
		}
	default:
		return nil, fmt.Sprintf("Your request can't be completed. The sandbox emulates daily and weekly recurrences, not '%s'.", b.Pattern.Type)
	}
	if r.Interval < 1 {
		r.Interval = 1
	}
	loc := wire.Zone(r.Zone)
	if r.StartDate == "" {
		r.StartDate = start.In(loc).Format("2006-01-02")
	}
	if _, err := time.ParseInLocation("2006-01-02", r.StartDate, loc); err != nil {
		return nil, fmt.Sprintf("Your request can't be completed. The recurrence start date '%s' is not valid.", r.StartDate)
	}
	switch r.RangeType {
	case "noEnd":
	case "endDate":
		if end, err := time.ParseInLocation("2006-01-02", r.EndDate, loc); err != nil || end.Format("2006-01-02") < r.StartDate {
			return nil, fmt.Sprintf("Your request can't be completed. The recurrence end date '%s' is not valid.", r.EndDate)
		}
	case "numbered":
		if r.Count < 1 {
			return nil, "Your request can't be completed. A numbered recurrence needs numberOfOccurrences of 1 or more."
		}
	default:
		return nil, fmt.Sprintf("Your request can't be completed. Requested value '%s' was not found.", b.Range.Type)
	}
	return r, ""
}
