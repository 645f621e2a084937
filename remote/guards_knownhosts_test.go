package remote

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"slices"
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
