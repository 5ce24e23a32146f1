package sinks

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Field names shared by the kafka_franz input and output.
const (
	kfFieldSeedBrokers  = "seed_brokers"
	kfFieldClientID     = "client_id"
	kfFieldTLS          = "tls"
	kfFieldSASL         = "sasl"
	kfFieldSASLMech     = "mechanism"
	kfFieldSASLUser     = "username"
	kfFieldSASLPassword = "password"

	// Benthos' TLS fields that name files, read as the config is.
	kfFieldTLSRootCAsFile = "root_cas_file"
	kfFieldTLSClientCerts = "client_certs"
	kfFieldTLSCertFile    = "cert_file"
	kfFieldTLSKeyFile     = "key_file"
)

// kafkaConnectionFields are the fields that say how to reach and log into
// the cluster, identical for the input and the output.
func kafkaConnectionFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringListField(kfFieldSeedBrokers).
			Description("Addresses of Kafka brokers to connect to first. An entry may hold several addresses separated by commas.").
			Example([]string{"localhost:9092"}).
			Example([]string{"foo:9092", "bar:9092"}).
			Example([]string{"foo:9092,bar:9092"}),
		service.NewStringField(kfFieldClientID).
			Description("An identifier for the client connection, visible in broker logs and quotas.").
			Default("f1fetch").
			Advanced(),
		service.NewTLSToggledField(kfFieldTLS),
		service.NewObjectListField(kfFieldSASL,
			service.NewStringEnumField(kfFieldSASLMech, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512").
				Description("The SASL mechanism to use."),
			service.NewStringField(kfFieldSASLUser).Description("The user name to authenticate as.").Default(""),
			service.NewStringField(kfFieldSASLPassword).Description("The password of the user.").Default("").Secret(),
		).
			Description("SASL mechanisms to try, in order. Leave empty for no authentication.").
			Optional().
			Advanced(),
	}
}

// kafkaClientOpts turns the connection fields into franz-go options: the one
// place where seed brokers, TLS and SASL are read.
func kafkaClientOpts(conf *service.ParsedConfig) ([]kgo.Opt, error) {
	brokers, err := seedBrokers(conf)
	if err != nil {
		return nil, err
	}
	clientID, err := conf.FieldString(kfFieldClientID)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(clientID)}

	tlsConf, tlsOn, err := conf.FieldTLSToggled(kfFieldTLS)
	if err != nil {
		return nil, tlsFieldError(conf, err)
	}
	if tlsOn {
		opts = append(opts, kgo.DialTLSConfig(tlsConf))
	}

	mechs, err := saslMechanisms(conf)
	if err != nil {
		return nil, err
	}
	if len(mechs) > 0 {
		opts = append(opts, kgo.SASL(mechs...))
	}
	return opts, nil
}

// tlsFieldError names the field of err, an error of Benthos' TLS field, which
// names none ("open /nonexistent.pem: no such file or directory"): when a
// file could not be read, the first file field, in the order Benthos reads
// them, that names it; otherwise the tls field.
func tlsFieldError(conf *service.ParsedConfig, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		if name, _ := conf.FieldString(kfFieldTLS, kfFieldTLSRootCAsFile); name == pathErr.Path {
			return fmt.Errorf("field %s.%s: value %q: %w", kfFieldTLS, kfFieldTLSRootCAsFile, name, err)
		}
		certs, _ := conf.FieldObjectList(kfFieldTLS, kfFieldTLSClientCerts)
		for i, cert := range certs {
			for _, field := range []string{kfFieldTLSCertFile, kfFieldTLSKeyFile} {
				if name, _ := cert.FieldString(field); name == pathErr.Path {
					return fmt.Errorf("field %s.%s[%d].%s: value %q: %w", kfFieldTLS, kfFieldTLSClientCerts, i, field, name, err)
				}
			}
		}
	}
	return fmt.Errorf("field %s: %w", kfFieldTLS, err)
}

// regexpsError names the first of patterns, the entries of the list field
// field, that is not a regular expression (RE2, as regexp.Compile reads it),
// or returns nil. A pattern franz-go or Benthos compiles later would fail
// naming neither (franz-go at every Connect).
func regexpsError(field string, patterns []string) error {
	for i, p := range patterns {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("field %s[%d]: value %q: not a regular expression: %w", field, i, p, err)
		}
	}
	return nil
}

func seedBrokers(conf *service.ParsedConfig) ([]string, error) {
	raw, err := conf.FieldStringList(kfFieldSeedBrokers)
	if err != nil {
		return nil, err
	}
	var brokers []string
	for _, entry := range raw {
		brokers = append(brokers, splitTrim(entry)...)
	}
	if len(brokers) == 0 {
		return nil, fmt.Errorf("field %s: at least one broker address is required, got %q", kfFieldSeedBrokers, raw)
	}
	return brokers, nil
}

func saslMechanisms(conf *service.ParsedConfig) ([]sasl.Mechanism, error) {
	if !conf.Contains(kfFieldSASL) {
		return nil, nil
	}
	list, err := conf.FieldObjectList(kfFieldSASL)
	if err != nil {
		return nil, err
	}
	mechs := make([]sasl.Mechanism, 0, len(list))
	for i, entry := range list {
		name, err := entry.FieldString(kfFieldSASLMech)
		if err != nil {
			return nil, err
		}
		user, err := entry.FieldString(kfFieldSASLUser)
		if err != nil {
			return nil, err
		}
		pass, err := entry.FieldString(kfFieldSASLPassword)
		if err != nil {
			return nil, err
		}
		switch name {
		case "PLAIN":
			mechs = append(mechs, plain.Auth{User: user, Pass: pass}.AsMechanism())
		case "SCRAM-SHA-256":
			mechs = append(mechs, scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())
		case "SCRAM-SHA-512":
			mechs = append(mechs, scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())
		default:
			return nil, fmt.Errorf("field %s[%d].%s: unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", kfFieldSASL, i, kfFieldSASLMech, name)
		}
	}
	return mechs, nil
}

// splitTrim splits a comma-separated list entry, dropping blanks.
func splitTrim(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
