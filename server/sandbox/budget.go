package sandbox

import (
	"slices"
	"time"
)

// Graph's service limits that a client of many mailboxes must stay within,
// counted here so that a test reads how close it came. The sandbox counts
// them and does not enforce them: it never answers 429 by itself (the
// graph_throttle_seconds fault does that).
//
// Outlook: "10,000 API requests in a 10 minute period" and "4 concurrent
// requests", per app ID and mailbox combination. Presence:
// getPresencesByUserId allows 1,500 requests in 30 seconds per application
// per tenant (its page; the throttling page has since said more for
// presence as a whole: budget for the lower figure).
// https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits
// https://learn.microsoft.com/en-us/graph/api/cloudcommunications-getpresencesbyuserid
const (
	OutlookWindow          = 10 * time.Minute
	OutlookLimit           = 10_000
	OutlookConcurrentLimit = 4
	PresenceWindow         = 30 * time.Second
	PresenceLimit          = 1_500
)

// window counts requests in a sliding window and remembers the most it
// ever held.
type window struct {
	span  time.Duration
	times []time.Time // in the window, oldest first
	total int
	peak  int
}

// add counts a request at now.
func (w *window) add(now time.Time) {
	w.prune(now)
	w.times = append(w.times, now)
	w.total++
	// A sliding window's count rises only when a request arrives: its
	// peak is the largest count seen at an arrival.
	w.peak = max(w.peak, len(w.times))
}

// prune drops the requests older than the window.
func (w *window) prune(now time.Time) {
	i := 0
	for i < len(w.times) && !w.times[i].After(now.Add(-w.span)) {
		i++
	}
	if i > 0 {
		w.times = append(w.times[:0], w.times[i:]...)
	}
}

// mailboxLoad is the Outlook requests made to one mailbox.
type mailboxLoad struct {
	window
	inFlight, peakInFlight int
}

// beginMailbox counts an Outlook request to mailbox u and returns the
// function that ends it; s.mu must not be held.
func (s *Sandbox) beginMailbox(u *user) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.load[u.UPN]
	if l == nil {
		l = &mailboxLoad{window: window{span: OutlookWindow}}
		s.load[u.UPN] = l
	}
	l.add(s.now())
	l.inFlight++
	l.peakInFlight = max(l.peakInFlight, l.inFlight)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		l.inFlight--
	}
}

// countPresence counts a presence request against the tenant's presence
// budget; s.mu must not be held.
func (s *Sandbox) countPresence() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.presenceLoad.add(s.now())
}

// Load is how much of a budget a mailbox, or the tenant, used: requests
// since the start, in the window ending now, and the most in any window
// (on the sandbox's clock).
type Load struct {
	Total      int `json:"total"`
	InWindow   int `json:"in_window"`
	PeakWindow int `json:"peak_window"`
}

// MailboxLoad is the Outlook requests made to one mailbox, and the most
// that were under way at once.
type MailboxLoad struct {
	UPN string `json:"upn"`
	Load
	PeakConcurrent int `json:"peak_concurrent"`
}

// Budgets are Graph's limits and how much of them the sandbox's clients
// used, as GET /sandbox/api/budgets answers.
type Budgets struct {
	Outlook struct {
		WindowSeconds   int           `json:"window_seconds"`
		Limit           int           `json:"limit"`
		ConcurrentLimit int           `json:"concurrent_limit"`
		Mailboxes       []MailboxLoad `json:"mailboxes"`
	} `json:"outlook"`
	Presence struct {
		WindowSeconds int `json:"window_seconds"`
		Limit         int `json:"limit"`
		Load
	} `json:"presence"`
}

// Budgets returns Graph's limits and what the sandbox's clients used of
// them: Outlook requests (calendars, events, getSchedule) per mailbox per
// 10 minutes and at once, and presence requests (/me/presence and
// getPresencesByUserId) per 30 seconds for the tenant.
func (s *Sandbox) Budgets() Budgets {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var b Budgets
	b.Outlook.WindowSeconds, b.Outlook.Limit, b.Outlook.ConcurrentLimit = int(OutlookWindow/time.Second), OutlookLimit, OutlookConcurrentLimit
	b.Outlook.Mailboxes = []MailboxLoad{}
	for upn, l := range s.load {
		l.prune(now)
		b.Outlook.Mailboxes = append(b.Outlook.Mailboxes, MailboxLoad{UPN: upn,
			Load: Load{Total: l.total, InWindow: len(l.times), PeakWindow: l.peak}, PeakConcurrent: l.peakInFlight})
	}
	slices.SortFunc(b.Outlook.Mailboxes, func(x, y MailboxLoad) int {
		if x.UPN < y.UPN {
			return -1
		}
		return 1
	})
	s.presenceLoad.prune(now)
	b.Presence.WindowSeconds, b.Presence.Limit = int(PresenceWindow/time.Second), PresenceLimit
	b.Presence.Load = Load{Total: s.presenceLoad.total, InWindow: len(s.presenceLoad.times), PeakWindow: s.presenceLoad.peak}
	return b
}
