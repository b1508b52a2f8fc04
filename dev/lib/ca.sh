# shellcheck shell=bash
# The dev CA under .dev/ca/: made once, then reused. Sourced after common.sh.
#   ca.pem               what clients trust (SSEC_TEST_*_CA)
#   localhost.pem/.key   leaf for DNS:localhost, IP:127.0.0.1, IP:::1, served by the stores
CA_PEM=$CA_DIR/ca.pem
CA_KEY=$CA_DIR/ca.key
LEAF_PEM=$CA_DIR/localhost.pem
LEAF_KEY=$CA_DIR/localhost.key

# True when the leaf exists, chains to the CA and is valid for at least 7 more days.
ca_ok() {
	[[ -s $CA_PEM && -s $CA_KEY && -s $LEAF_PEM && -s $LEAF_KEY ]] &&
		openssl x509 -checkend 604800 -noout -in "$CA_PEM" >/dev/null 2>&1 &&
		openssl x509 -checkend 604800 -noout -in "$LEAF_PEM" >/dev/null 2>&1 &&
		openssl verify -CAfile "$CA_PEM" "$LEAF_PEM" >/dev/null 2>&1
}

ensure_ca() {
	mkdir -p "$CA_DIR"
	ca_ok && return 0
	# A lock, so two stores starting at once don't both write the CA.
	exec {ca_lock}>"$CA_DIR/.lock"
	flock -w 60 "$ca_lock" || die "timed out waiting for $CA_DIR/.lock"
	if ! ca_ok; then
		say "ca: creating dev CA in $CA_DIR"
		local tmp
		tmp=$(mktemp -d "$CA_DIR/.new.XXXXXX")
		(
			umask 077
			# Extensions that strict verifiers (rustls/webpki) insist on: a CA with keyCertSign,
			# a CA:FALSE leaf with serverAuth and a SAN.
			openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
				-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=ssec-proxy dev CA" \
				-addext "basicConstraints=critical,CA:TRUE" \
				-addext "keyUsage=critical,keyCertSign,cRLSign" \
				-addext "subjectKeyIdentifier=hash"
			openssl req -new -newkey rsa:2048 -nodes -sha256 \
				-keyout "$tmp/localhost.key" -out "$tmp/localhost.csr" -subj "/CN=localhost"
			cat >"$tmp/leaf.ext" <<-'EXT'
				basicConstraints=critical,CA:FALSE
				keyUsage=critical,digitalSignature,keyEncipherment
				extendedKeyUsage=serverAuth
				subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
				subjectKeyIdentifier=hash
				authorityKeyIdentifier=keyid
			EXT
			openssl x509 -req -sha256 -days 825 -in "$tmp/localhost.csr" \
				-CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
				-extfile "$tmp/leaf.ext" -out "$tmp/localhost.pem"
		) >"$tmp/openssl.log" 2>&1 || {
			tail_logs "$tmp/openssl.log"
			die "could not create the dev CA"
		}
		# Public parts world-readable so daemons running as other users can read them too.
		chmod 644 "$tmp/ca.pem" "$tmp/localhost.pem"
		mv -f "$tmp/ca.key" "$tmp/ca.pem" "$tmp/localhost.key" "$tmp/localhost.pem" "$CA_DIR/"
		rm -rf "$tmp"
		ca_ok || die "the new dev CA does not verify"
	fi
	exec {ca_lock}>&-
}
