package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestHostKeyAlgorithmsOfferSHA1OnlyWhenLegacy: ssh-rsa (SHA-1 signatures)
// is offered only to a legacy server, and only when known_hosts records an
// RSA key for it or nothing at all; the recorded keys' types come first.
func TestHostKeyAlgorithmsOfferSHA1OnlyWhenLegacy(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := ssh.NewPublicKey(edPriv.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := ssh.NewPublicKey(&rsaPriv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	edKnown := []knownhosts.KnownKey{{Key: ed}}
	rsaKnown := []knownhosts.KnownKey{{Key: rk}}
	modern := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	for _, c := range []struct {
		name   string
		known  []knownhosts.KnownKey
		legacy bool
		want   []string
	}{
		{"nothing recorded", nil, false, modern},
		{"nothing recorded, legacy", nil, true, append(slices.Clone(modern), ssh.KeyAlgoRSA)},
		{"ed25519 recorded", edKnown, false, []string{ssh.KeyAlgoED25519}},
		{"ed25519 recorded, legacy", edKnown, true, []string{ssh.KeyAlgoED25519}},
		{"rsa recorded", rsaKnown, false, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}},
		{"rsa recorded, legacy", rsaKnown, true, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}},
	} {
		if got := hostKeyAlgorithms(c.known, c.legacy); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestHostKeyChangedNamesTheLineOfItsType: with an RSA and an ed25519 key
// recorded for a host (lines 2 and 3), a changed ed25519 key is reported
// at line 3, the recorded key of the type the host presented.
func TestHostKeyChangedNamesTheLineOfItsType(t *testing.T) {
	pub := func(k any) ssh.PublicKey {
		p, err := ssh.NewPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	oldEd, _, _ := ed25519.GenerateKey(rand.Reader)
	newEd, _, _ := ed25519.GenerateKey(rand.Reader)
	line := func(k ssh.PublicKey) string {
		return "[127.0.0.1]:2222 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	content := "# recorded\n" + line(pub(&rsaPriv.PublicKey)) + "\n" + line(pub(oldEd)) + "\n"
	if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := loadHostKeys([]string{kh})
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
	err = h.check("[127.0.0.1]:2222", addr, pub(newEd), func(string, ssh.PublicKey, string) bool {
		t.Error("a changed key was put to trust")
		return true
	})
	var ce *HostKeyChangedError
	if !errors.As(err, &ce) || ce.File != kh || ce.Line != 3 || ce.KeyType != ssh.KeyAlgoED25519 {
		t.Fatalf("err = %v (%+v), want a changed ed25519 key at %s line 3", err, ce, kh)
	}
	if err := h.check("[127.0.0.1]:2222", addr, pub(oldEd), nil); err != nil {
		t.Fatalf("the recorded key: %v", err)
	}
}

// TestTrustedKeyGetsALineOfItsOwn: a key the admin trusts is appended on a
// line of its own, also to a known_hosts whose last line lacks its
// newline, and an empty file gets no blank line first.
func TestTrustedKeyGetsALineOfItsOwn(t *testing.T) {
	for _, before := range []string{"", "# no newline at the end", "# ends well\n"} {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(kh, []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := loadHostKeys([]string{kh})
		if err != nil {
			t.Fatal(err)
		}
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		key, err := ssh.NewPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
		if err := h.check("[127.0.0.1]:2222", addr, key, func(string, ssh.PublicKey, string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(kh)
		want := strings.TrimSuffix(before, "\n")
		if want != "" {
			want += "\n"
		}
		want += "[127.0.0.1]:2222 " + string(ssh.MarshalAuthorizedKey(key))
		if string(b) != want {
			t.Errorf("known_hosts %q after trusting a key:\n%q\nwant\n%q", before, b, want)
		}
	}
}
