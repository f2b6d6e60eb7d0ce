package conformance_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/placard/placard/server/sandbox"
)

// The device authorization grant through MSAL Go, and the refresh-token
// grant after it: each way it ends, with the exact error.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code

func TestSignInThenSilentRefreshThenRevocation(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signIn(t, "ada@placard.example")
		res := s.result
		if res.AccessToken == "" || res.IDToken.RawToken == "" || res.Account.HomeAccountID == "" {
			t.Fatalf("tokens %+v", res)
		}
		if !tg.real() {
			if res.Account.PreferredUsername != "ada@placard.example" || res.IDToken.Name != "Ada Lovelace" || res.IDToken.TenantID != sandbox.TenantID {
				t.Errorf("account %+v, id token %+v", res.Account, res.IDToken)
			}
			for _, sc := range tg.scopes {
				if !slices.Contains(res.GrantedScopes, sc) {
					t.Errorf("granted scopes %v lack %s", res.GrantedScopes, sc)
				}
			}
			if life := time.Until(res.ExpiresOn); life < 59*time.Minute || life > 91*time.Minute {
				t.Errorf("the access token lives %v: the platform gives 60 to 90 minutes", life)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		// Silent: from MSAL's cache, then from the refresh token.
		cached, err := s.pc.AcquireTokenSilent(ctx, tg.scopes, public.WithSilentAccount(s.account))
		if err != nil || cached.AccessToken != res.AccessToken || cached.Metadata.TokenSource != public.TokenSourceCache {
			t.Errorf("a silent token from the cache: %v", err)
		}
		refreshed, err := s.refresh(ctx, tg.scopes)
		if err != nil || refreshed.AccessToken == res.AccessToken || refreshed.Metadata.TokenSource != public.TokenSourceIdentityProvider {
			t.Fatalf("a silent refresh: %v", err)
		}

		tg.sandboxOnly(t, "revoking a user's sessions needs an administrator (revokeSignInSessions)")
		if err := tg.sb.Revoke("ada@placard.example"); err != nil {
			t.Fatal(err)
		}
		_, err = s.refresh(ctx, tg.scopes)
		wantOAuth(t, err, "invalid_grant", 50173)
	})
}

func TestADeviceCodeIsSingleUse(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		s := tg.signIn(t, "grace@placard.example")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// MSAL polls the same device code again.
		_, err := s.dc.AuthenticationResult(ctx)
		if err == nil {
			t.Fatal("a redeemed device code gave tokens again")
		}
		if tg.real() {
			e := oauthErrorOf(t, err)
			t.Logf("a real tenant answers a redeemed device code with %s %v: %s (the sandbox answers invalid_grant [90120])", e.Error, e.Codes, e.Description)
			return
		}
		wantOAuth(t, err, "invalid_grant", 90120)
	})
}

func TestSignInsThatEndWithoutTokens(t *testing.T) {
	cases := []struct {
		name  string
		act   func(sb *sandbox.Sandbox, userCode string)
		oauth string
		code  int
	}{
		{"declined on the phone", func(sb *sandbox.Sandbox, uc string) { sb.Decline(uc) }, "authorization_declined", 70000},
		{"the code expires", func(sb *sandbox.Sandbox, uc string) { sb.Advance(15 * time.Minute) }, "expired_token", 70020},
		{"Conditional Access blocks device-code sign-in", func(sb *sandbox.Sandbox, uc string) {
			sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
			sb.Approve(uc, "ada@placard.example")
		}, "interaction_required", 53003},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachTarget(t, func(t *testing.T, tg *target) {
				tg.sandboxOnly(t, "declining, waiting 15 minutes and a Conditional Access policy need a person or an administrator")
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				dc, err := tg.msal(t, tg.clientID).AcquireTokenByDeviceCode(ctx, tg.scopes)
				if err != nil {
					t.Fatal(err)
				}
				c.act(tg.sb, dc.Result.UserCode)
				_, err = dc.AuthenticationResult(ctx)
				wantOAuth(t, err, c.oauth, c.code)
				if c.oauth != "expired_token" {
					// Once told, the code is spent.
					_, err = dc.AuthenticationResult(ctx)
					wantOAuth(t, err, "invalid_grant", 90120)
				}
			})
		})
	}
}

func TestPendingUntilThePersonActs(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "MSAL hides authorization_pending while it waits for the person")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dc, err := tg.msal(t, tg.clientID).AcquireTokenByDeviceCode(ctx, tg.scopes)
		if err != nil {
			t.Fatal(err)
		}
		if dc.Result.Interval != 5 || time.Until(dc.Result.ExpiresOn) < 14*time.Minute || dc.Result.VerificationURL == "" ||
			!strings.Contains(dc.Result.Message, dc.Result.UserCode) {
			t.Errorf("device code %+v", dc.Result)
		}
		// MSAL keeps polling through authorization_pending (after 50 ms,
		// 150, 450 ms...): approve after its second poll.
		done := make(chan error, 1)
		go func() { _, err := dc.AuthenticationResult(ctx); done <- err }()
		if err := tg.sb.AwaitRequests(ctx, "token device_code", 2); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("MSAL stopped waiting before the person acted: %v", err)
		default:
		}
		tg.sb.Approve(dc.Result.UserCode, "lobby@placard.example")
		if err := <-done; err != nil {
			t.Fatalf("after approval: %v", err)
		}
	})
}

func TestRefreshUnderConditionalAccessAndAfterNinetyDays(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		tg.sandboxOnly(t, "a policy change and 90 days of inactivity need an administrator and time")
		s := tg.signIn(t, "grace@placard.example")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tg.sb.SetFaults(sandbox.Faults{ConditionalAccessBlock: true})
		_, err := s.refresh(ctx, tg.scopes)
		wantOAuth(t, err, "interaction_required", 53003)
		tg.sb.SetFaults(sandbox.Faults{})
		tg.sb.Advance(90 * 24 * time.Hour)
		_, err = s.refresh(ctx, tg.scopes)
		wantOAuth(t, err, "invalid_grant", 700082)
	})
}

func TestRequestsThePlatformRefuses(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		t.Run("an application the tenant does not know", func(t *testing.T) {
			_, err := tg.msal(t, "00000000-1111-2222-3333-444444444444").AcquireTokenByDeviceCode(ctx, tg.scopes)
			// The sandbox answers RFC 6749's invalid_client, as its
			// contract says; the platform itself has been seen answering
			// unauthorized_client. The AADSTS number is the same.
			want := "invalid_client"
			if tg.real() {
				want = "unauthorized_client"
			}
			wantOAuth(t, err, want, 700016)
		})
		t.Run("a permission that does not exist", func(t *testing.T) {
			_, err := tg.msal(t, tg.clientID).AcquireTokenByDeviceCode(ctx, []string{"https://graph.microsoft.com/Nothing.ReadWrite.Everything"})
			wantOAuth(t, err, "invalid_scope", 70011)
		})
	})
}
