package server_test

import (
	"testing"

	"github.com/placard/placard/server"
)

func TestAScreenInAGroupTakesItsGroupsSettingsButThoseItOverrides(t *testing.T) {
	group := server.ScreenSettings{TimeZone: "Europe/Paris", Lang: "fr", Clock24: true, Hours: "07:00-19:00"}
	own := server.ScreenSettings{TimeZone: "America/New_York", Lang: "en", Privacy: true}
	for _, tt := range []struct {
		overrides []string
		want      server.ScreenSettings
	}{
		{nil, group},
		{[]string{"Lang"}, server.ScreenSettings{TimeZone: "Europe/Paris", Lang: "en", Clock24: true, Hours: "07:00-19:00"}},
		// An override to the zero value counts: the screen's clock is
		// 12 h, and its hours always.
		{[]string{"Clock24", "Hours", "Privacy"}, server.ScreenSettings{TimeZone: "Europe/Paris", Lang: "fr", Privacy: true}},
		{server.SettingFields(), own},
		{[]string{"NoSuchSetting"}, group},
	} {
		if got := server.MergeSettings(group, own, tt.overrides); got != tt.want {
			t.Errorf("overriding %v: %+v, want %+v", tt.overrides, got, tt.want)
		}
	}
}
