package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRefusalForm feeds arbitrary form bodies to what a refusal page
// echoes: secrets never come back, the count stays bounded, a kept value
// is exactly what was posted, and a resume path is always local.
func FuzzRefusalForm(f *testing.F) {
	f.Add("above=9%2C5&below=2&rule=0&csrf=x", "/alarms/rule")
	f.Add("keep%3Aabove=10&keep%3Apassword=geheim&resume=%2Falarms%2Frule&user=admin", "//evil.example/x")
	f.Add("broker=mqtts%3A%2F%2Fa%3A8883&password=p&client_key=k&code=ABCD&severity=critical&force=1", "/settings\\x")
	f.Add("%ff=%fe&a=%00", "/a?b#c")
	f.Fuzz(func(t *testing.T, body, resume string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		for _, strip := range []string{"", keepPrefix} {
			fields, _ := keptFields(langDE, form, strip)
			if len(fields) > maxKeptFields {
				t.Fatalf("%d fields kept", len(fields))
			}
			for _, fl := range fields {
				if secretField(fl.Name) {
					t.Fatalf("secret field %q kept", fl.Name)
				}
				found := false
				for _, v := range form[strip+fl.Name] {
					found = found || v == fl.Value
				}
				if !found {
					t.Fatalf("kept %q=%q, which was not posted", fl.Name, fl.Value)
				}
			}
		}
		if localPath(resume) {
			if !strings.HasPrefix(resume, "/") || strings.HasPrefix(resume, "//") || strings.ContainsAny(resume, "\\?#\r\n\t ") {
				t.Fatalf("resume path %q taken as local", resume)
			}
		}
	})
}
