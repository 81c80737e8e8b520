package appid

// ftpCommands are the commands an FTP client starts with: log in, ask
// for TLS (RFC 4217 section 4), or ask what the server can do (RFC 2389).
var ftpCommands = []string{"USER", "AUTH", "FEAT", "SYST", "OPTS", "CLNT"}

// detectFTP recognises FTP by its greeting naming FTP, or by a 220
// greeting answered with USER, AUTH TLS and the like (RFC 959).
func detectFTP(in *Input, info *Info) Result {
	return mail220(in, info, ftpCommands, smtpCommands, g220FTP, g220SMTP, in.ServerPort == 21)
}
