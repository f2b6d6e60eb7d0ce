// Package pgtest gives tests a PostgreSQL database of their own.
//
// It finds a server in this order: PLACARD_TEST_DATABASE_URL (a URL of a
// role that may create databases); else one answering on 127.0.0.1:5432 as
// user postgres without a password (PLACARD_TEST_PG_PROBE names another
// host:port to try); else a throwaway cluster made with Debian's
// postgresql (initdb and pg_ctl in /usr/lib/postgresql/*/bin) in a
// temporary directory on a free port, run as the postgres user when the
// tests run as root (PostgreSQL refuses to run as root), and stopped when
// the tests end. Each test gets a database with a random name, dropped
// after it. With CI=true a test that finds no server fails instead of
// skipping.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// server is the PostgreSQL server of this test binary, found or started
// once, on first use.
var (
	once     sync.Once
	adminURL string // a URL of the maintenance database, as a role that may create databases
	findErr  error
	cluster  *throwaway
)

// Main runs the tests and stops the throwaway cluster, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		cluster.stop()
	}
	return code
}

// DB creates an empty database for the test and returns its URL; the
// database is dropped when the test ends.
func DB(t testing.TB) string {
	t.Helper()
	once.Do(func() { adminURL, findErr = find() })
	if findErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no PostgreSQL for this test (CI=true: it may not skip): %v", findErr)
		}
		t.Skipf("no PostgreSQL: %v", findErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connecting to the test server: %v", err)
	}
	defer admin.Close(context.Background())
	b := make([]byte, 8)
	rand.Read(b)
	name := "placard_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// find returns the URL of a server to make databases on.
func find() (string, error) {
	if u := os.Getenv("PLACARD_TEST_DATABASE_URL"); u != "" {
		if err := ping(u); err != nil {
			return "", fmt.Errorf("PLACARD_TEST_DATABASE_URL does not answer: %w", err)
		}
		return u, nil
	}
	probe := os.Getenv("PLACARD_TEST_PG_PROBE")
	if probe == "" {
		probe = "127.0.0.1:5432"
	}
	local := "postgres://postgres@" + probe + "/postgres?sslmode=disable"
	probeErr := ping(local)
	if probeErr == nil {
		return local, nil
	}
	c, err := startThrowaway()
	if err != nil {
		return "", fmt.Errorf("none answers on %s (%v), and no throwaway cluster could start: %w", probe, probeErr, err)
	}
	cluster = c
	return c.url, nil
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// throwaway is a cluster in a temporary directory.
type throwaway struct {
	dir   string
	pgCtl string
	url   string
	attr  *syscall.SysProcAttr
}

// startThrowaway makes and starts a cluster with the newest PostgreSQL
// under /usr/lib/postgresql (Debian's layout).
func startThrowaway() (*throwaway, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return nil, errors.New("no initdb in /usr/lib/postgresql/*/bin: install Debian's postgresql (apt-get install postgresql), or set PLACARD_TEST_DATABASE_URL")
	}
	newest, best := bins[0], 0
	for _, b := range bins {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		if v > best {
			newest, best = b, v
		}
	}
	bin := filepath.Dir(newest)
	dir, err := os.MkdirTemp("", "placard-pg-")
	if err != nil {
		return nil, err
	}
	c := &throwaway{dir: dir, pgCtl: filepath.Join(bin, "pg_ctl")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user to run as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.attr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=300", port, dir)
	if out, err := c.run(c.pgCtl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := ping(c.url); err != nil {
		c.stop()
		return nil, fmt.Errorf("the throwaway cluster started but does not answer: %w", err)
	}
	return c, nil
}

func (c *throwaway) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = c.attr
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *throwaway) stop() {
	c.run(c.pgCtl, "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
