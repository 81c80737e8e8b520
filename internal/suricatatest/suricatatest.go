// Package suricatatest writes the configuration under which septa's tests
// and benchmarks run Suricata offline (suricata -r): alerts only to an EVE
// file, Suricata's default address and port variables, stream reassembly
// and the application parsers septa's signatures use.
//
// It is test infrastructure; it does not import testing.
package suricatatest

import (
	"os"
	"path/filepath"
	"strings"
)

// WriteConfig writes suricata.yaml (and, where the packaged lists are
// missing, minimal classification and reference lists) into dir and
// returns its path.
func WriteConfig(dir string) (string, error) {
	class, ref := "/etc/suricata/classification.config", "/etc/suricata/reference.config"
	if _, err := os.Stat(class); err != nil {
		class = filepath.Join(dir, "classification.config")
		if err := os.WriteFile(class, []byte("config classification: trojan-activity,A Network Trojan was detected,1\n"+
			"config classification: web-application-attack,Web Application Attack,1\n"+
			"config classification: exploit-kit,Exploit Kit Activity Detected,1\n"), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(ref); err != nil {
		ref = filepath.Join(dir, "reference.config")
		if err := os.WriteFile(ref, []byte("config reference: url http://\n"), 0o644); err != nil {
			return "", err
		}
	}
	cfg := filepath.Join(dir, "suricata.yaml")
	return cfg, os.WriteFile(cfg, []byte(strings.NewReplacer("CLASSIFICATION", class, "REFERENCE", ref).Replace(config)), 0o644)
}

const config = `%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"
    EXTERNAL_NET: "!$HOME_NET"
    HTTP_SERVERS: "$HOME_NET"
    SMTP_SERVERS: "$HOME_NET"
    SQL_SERVERS: "$HOME_NET"
    DNS_SERVERS: "$HOME_NET"
    TELNET_SERVERS: "$HOME_NET"
    AIM_SERVERS: "$EXTERNAL_NET"
    DC_SERVERS: "$HOME_NET"
  port-groups:
    HTTP_PORTS: "80"
    SHELLCODE_PORTS: "!80"
    ORACLE_PORTS: "1521"
    SSH_PORTS: "22"
    FILE_DATA_PORTS: "[$HTTP_PORTS,110,143]"
    FTP_PORTS: "21"

default-log-dir: .
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - alert
logging:
  default-log-level: warning
  outputs:
    - console:
        enabled: yes

classification-file: CLASSIFICATION
reference-config-file: REFERENCE

stream:
  memcap: 64mb
  checksum-validation: no
  midstream: false
  async-oneside: false
  inline: no
  reassembly:
    memcap: 256mb
    depth: 1mb
    toserver-chunk-size: 2560
    toclient-chunk-size: 2560

app-layer:
  protocols:
    http:
      enabled: yes
      libhtp:
        default-config:
          personality: IDS
          request-body-limit: 100kb
          response-body-limit: 100kb
    tls:
      enabled: yes
      detection-ports:
        dp: 443
    dns:
      tcp:
        enabled: yes
        detection-ports:
          dp: 53
      udp:
        enabled: yes
        detection-ports:
          dp: 53
    ssh:
      enabled: yes
    smtp:
      enabled: yes
    ftp:
      enabled: yes

detect:
  profile: medium
  sgh-mpm-context: auto
  inspection-recursion-limit: 3000

threading:
  set-cpu-affinity: no
`
