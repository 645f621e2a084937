package wizard

import "testing"

func TestWhoNamesThePersonAndWhereFrom(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SUDO_USER": "alice", "USER": "root", "SSH_CONNECTION": "198.51.100.7 50122 192.0.2.1 22"}, "alice via sudo from 198.51.100.7"},
		{map[string]string{"USER": "root", "SSH_CLIENT": "2001:db8::1 50122 22"}, "root from 2001:db8::1"},
		{map[string]string{"LOGNAME": "bob"}, "bob"},
		{map[string]string{"SUDO_USER": "root", "USER": "root"}, "root"},
	}
	for _, c := range cases {
		if got := Who(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("Who(%v) = %q, want %q", c.env, got, c.want)
		}
	}
	if got := AnswersFileActor("/root/answers.json", "alice from 198.51.100.7"); got != "answers file /root/answers.json (run by alice from 198.51.100.7)" {
		t.Errorf("AnswersFileActor = %q", got)
	}
}
