package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/placard/placard/server"
	"github.com/placard/placard/server/sqlite"
	"github.com/placard/placard/server/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) server.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "placard.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceAcrossReopening(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) func(t *testing.T) server.Store {
		path := filepath.Join(t.TempDir(), "placard.db")
		return func(t *testing.T) server.Store {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

func TestReopenKeepsWhatWasWritten(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "placard.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, server.Account{ID: "a", Username: "ada@placard.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a, err := s.Account(ctx, "a"); err != nil || a.Username != "ada@placard.example" {
		t.Fatalf("after reopening: %+v, %v", a, err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "placard.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a database of a newer placard: %v, want an error saying so", err)
	}
}
