package sqlstore

import "testing"

func TestPlaceholdersAreNumberedForPostgreSQL(t *testing.T) {
	for _, tt := range []struct {
		numbered bool
		in, want string
	}{
		{false, `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = ? AND c = ?`},
		{true, `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{true, `INSERT INTO t (a, b, c) VALUES (?,?,?)`, `INSERT INTO t (a, b, c) VALUES ($1,$2,$3)`},
		{true, `SELECT 1`, `SELECT 1`},
	} {
		if got := (Flavor{Numbered: tt.numbered}).rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q), numbered %v = %q, want %q", tt.in, tt.numbered, got, tt.want)
		}
	}
}

func TestMigrationsSpeakTheFlavoursTypes(t *testing.T) {
	f := Flavor{Name: "a", Legacy: []string{"legacy"}, Types: map[string]string{"blob": "BYTES", "time": "TS"}}
	saved := migrations
	defer func() { migrations = saved }()
	migrations = []migration{
		{sql: `CREATE TABLE x (b {blob}, t {time})`},
		{sql: `CREATE TABLE only_b (b {blob})`, only: "b"},
		{sql: `CREATE TABLE only_a (t {time})`, only: "a"},
	}
	got := f.Migrations()
	want := []string{"legacy", `CREATE TABLE x (b BYTES, t TS)`, "", `CREATE TABLE only_a (t TS)`}
	if len(got) != len(want) {
		t.Fatalf("Migrations() = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("migration %d = %q, want %q", i+1, got[i], want[i])
		}
	}
}
