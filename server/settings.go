package server

import (
	"reflect"
	"slices"
)

// SettingFields are the names of ScreenSettings' fields, in order: what a
// screen's Overrides name.
func SettingFields() []string {
	t := reflect.TypeFor[ScreenSettings]()
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Name
	}
	return out
}

// MergeSettings returns the settings of a screen in a group: the group's,
// except the fields named in overrides, which are the screen's own.
func MergeSettings(group, own ScreenSettings, overrides []string) ScreenSettings {
	out := group
	o, g := reflect.ValueOf(&out).Elem(), reflect.ValueOf(own)
	for i := range o.NumField() {
		if slices.Contains(overrides, o.Type().Field(i).Name) {
			o.Field(i).Set(g.Field(i))
		}
	}
	return out
}
