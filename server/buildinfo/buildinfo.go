// Package buildinfo says which placard a binary is: its version and
// commit, stamped when it was built, and the Go that built it. The same
// values are printed by `placard version`, shown on the admin page and
// exported as the placard_build_info metric, so that an operator can tell
// from any of them which build runs.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version and commit are stamped at link time by the Makefile and the
// Dockerfile:
//
//	-ldflags '-X github.com/placard/placard/server/buildinfo.version=v1.2.0
//	          -X github.com/placard/placard/server/buildinfo.commit=<git hash>'
//
// They are empty in a bare `go build`: Read then falls back on what the Go
// toolchain stamps by itself from the module and the VCS checkout. They
// are set by the linker only and never written at run time.
var (
	version string
	commit  string
)

// Info is what a binary says of itself.
type Info struct {
	// Version is the release (v1.2.0), git describe's name for a commit
	// after one (v1.2.0-3-gabc1234), or "devel" when nothing says.
	Version string
	// Commit is the git commit it was built from, with "-dirty" when the
	// tree had uncommitted changes; "unknown" when nothing says.
	Commit string
	// GoVersion is the Go toolchain that built it (go1.26.8).
	GoVersion string
	// OS and Arch are the platform it was built for.
	OS, Arch string
}

// Read returns this binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return from(version, commit, bi)
}

// from builds an Info from the stamped values and the toolchain's build
// information (nil when the binary has none).
func from(stampedVersion, stampedCommit string, bi *debug.BuildInfo) Info {
	in := Info{Version: stampedVersion, Commit: stampedCommit, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi != nil {
		in.GoVersion = bi.GoVersion
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		if in.Commit == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			in.Commit = rev
		}
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	return in
}

// String is the one line `placard version` prints first.
func (in Info) String() string {
	return "placard " + in.Version + " (commit " + in.Commit + ", " + in.GoVersion + ", " + in.OS + "/" + in.Arch + ")"
}
