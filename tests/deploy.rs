//! The Kubernetes manifests and the Containerfile in `deploy/` agree with the proxy's
//! configuration and with what the README promises: ports, probes, mounts, security
//! context, shutdown timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use ssec_proxy::config::Config;

fn documents(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file);
    let out = support::python("yaml2json.py", &[], &[&path.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn port(container: &Value, name: &str) -> u16 {
    let p = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .expect("named port");
    u16::try_from(p["containerPort"].as_u64().unwrap()).unwrap()
}

/// Where `container` mounts the volume backed by the named ConfigMap or Secret.
fn mount_dir(pod: &Value, container: &Value, volume_kind: &str, name: &str) -> String {
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v[volume_kind]["name"] == name || v[volume_kind]["secretName"] == name)
        .unwrap_or_else(|| panic!("volume for {name}"));
    let volume = volume["name"].as_str().unwrap();
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == volume)
        .unwrap_or_else(|| panic!("mount of {volume}"));
    assert_eq!(mount["readOnly"], true, "{volume} mounted read-only");
    assert!(
        mount["subPath"].is_null(),
        "{volume}: a subPath mount would not follow updates"
    );
    mount["mountPath"].as_str().unwrap().to_owned()
}

/// The proxy's init container (a native sidecar).
fn native_sidecar(pod: &Value) -> &Value {
    let sidecar = pod["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ssec-proxy")
        .unwrap();
    assert_eq!(sidecar["restartPolicy"], "Always", "a native sidecar");
    sidecar
}

/// Checks one proxy container against the configuration it is given.
fn check_proxy(docs: &[Value], pod: &Value, container: &Value) -> Config {
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "--config");
    let config_path = Path::new(args[1]);
    let config_map = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["data"]["proxy.toml"].is_string())
        .unwrap();
    let cm_name = config_map["metadata"]["name"].as_str().unwrap();
    let config_dir = mount_dir(pod, container, "configMap", cm_name);
    assert_eq!(
        config_path,
        Path::new(&config_dir).join("proxy.toml"),
        "--config points into the ConfigMap mount"
    );
    let config = Config::parse(
        config_map["data"]["proxy.toml"].as_str().unwrap(),
        config_path,
    )
    .unwrap();

    // TLS files come from the mounted Secret, the store CA from its ConfigMap.
    let secret = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"].is_object())
        .unwrap();
    let tls_dir = mount_dir(
        pod,
        container,
        "secret",
        secret["secret"]["secretName"].as_str().unwrap(),
    );
    assert_eq!(config.live.tls.cert, Path::new(&tls_dir).join("tls.crt"));
    assert_eq!(config.live.tls.key, Path::new(&tls_dir).join("tls.key"));
    let ca = config.restart.upstream.ca_file.clone().expect("store CA");
    let ca_dir = mount_dir(pod, container, "configMap", "rgw-ca");
    assert_eq!(ca.parent().unwrap(), Path::new(&ca_dir));

    // Probes hit the admin listener, which must listen on the pod IP.
    let admin = config.restart.server.admin_listen.expect("admin listener");
    assert!(admin.ip().is_unspecified(), "the kubelet probes the pod IP");
    assert_eq!(port(container, "admin"), admin.port());
    for (probe, path) in [
        ("livenessProbe", "/livez"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/livez"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(container[probe]["httpGet"]["port"], "admin", "{probe}");
    }

    // Non-root, read-only, no capabilities; the image's user.
    let sc = &container["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["runAsUser"], 65532);
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert_eq!(pod["automountServiceAccountToken"], false);

    // Kubernetes waits long enough for the whole shutdown sequence.
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let needed = Duration::from_secs(pre_stop)
        + config.restart.server.shutdown_delay
        + config.restart.server.shutdown_grace;
    let allowed = Duration::from_secs(pod["terminationGracePeriodSeconds"].as_u64().unwrap());
    assert!(
        allowed > needed,
        "terminationGracePeriodSeconds {allowed:?} must exceed {needed:?}"
    );
    config
}

#[test]
fn native_sidecar_manifest_matches_its_configuration() {
    let docs = documents("sidecar.yaml");
    let pod = &kind(&docs, "Deployment")["spec"]["template"]["spec"];
    let sidecar = native_sidecar(pod);
    let config = check_proxy(&docs, pod, sidecar);
    assert!(
        config.restart.server.listen.ip().is_loopback(),
        "only the pod's application reaches the sidecar"
    );
    let app = &pod["containers"][0];
    let endpoint = app["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "AWS_ENDPOINT_URL_S3")
        .unwrap();
    assert_eq!(
        endpoint["value"],
        format!("https://localhost:{}", config.restart.server.listen.port())
    );
}

/// The key-injection sidecar: every secret and key file the configuration names is in
/// a Secret volume the proxy mounts read-only, owner-readable only; the application
/// gets neither the keys nor the store's credentials, only its client secret.
#[test]
fn key_injection_sidecar_manifest_keeps_keys_in_the_proxy() {
    let docs = documents("sidecar-inject.yaml");
    let pod = &kind(&docs, "Deployment")["spec"]["template"]["spec"];
    let sidecar = native_sidecar(pod);
    let config = check_proxy(&docs, pod, sidecar);
    let auth = config.live.auth.as_ref().expect("resign mode");
    assert!(!auth.key_files().is_empty(), "a bucket injects a key");
    let volumes = pod["volumes"].as_array().unwrap();
    for (key, file) in auth.files() {
        let dir = file.parent().unwrap();
        let volume = volumes
            .iter()
            .find(|v| {
                v["secret"].is_object()
                    && Path::new(&mount_dir(
                        pod,
                        sidecar,
                        "secret",
                        v["secret"]["secretName"].as_str().unwrap(),
                    )) == dir
            })
            .unwrap_or_else(|| panic!("{key}: {} is not in a Secret mount", file.display()));
        assert_eq!(volume["secret"]["defaultMode"], 0o400, "{key}: owner-only");
        let app = &pod["containers"][0];
        let mounted = app["volumeMounts"].as_array().unwrap();
        assert!(
            !mounted.iter().any(|m| m["name"] == volume["name"]),
            "{key}: the application must not mount it"
        );
    }
    let app_env = pod["containers"][0]["env"].to_string();
    assert!(app_env.contains(&auth.clients[0].access_key));
    assert!(!app_env.contains(&auth.store.access_key));
    assert!(!app_env.to_lowercase().contains("customer-key"));
}

#[test]
fn gateway_manifest_matches_its_configuration() {
    let docs = documents("gateway.yaml");
    let pod = &kind(&docs, "Deployment")["spec"]["template"]["spec"];
    let container = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ssec-proxy")
        .unwrap();
    let config = check_proxy(&docs, pod, container);
    assert_eq!(port(container, "s3"), config.restart.server.listen.port());
    assert!(config.restart.server.listen.ip().is_unspecified());
    let service = kind(&docs, "Service");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "s3");
    assert_eq!(
        service["spec"]["selector"],
        kind(&docs, "Deployment")["spec"]["selector"]["matchLabels"]
    );
    assert!(
        container["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn containerfile_builds_a_static_non_root_image_from_scratch() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let text = std::fs::read_to_string(deploy.join("Containerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms,
        ["FROM scratch"],
        "nothing but what the build copies in"
    );
    assert!(text.contains("COPY ssec-proxy /usr/local/bin/ssec-proxy"));
    // Where rustls-native-certs (openssl-probe) looks for the system's roots on Linux.
    assert!(text.contains("/etc/ssl/certs/ca-certificates.crt"));
    assert!(text.contains("USER 65532:65532"));
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/ssec-proxy\"]"));
    assert!(text.contains("CMD [\"--config\", \"/etc/ssec-proxy/config/proxy.toml\"]"));
    // The user the image runs as has a name, so tools that look it up find one.
    let passwd = std::fs::read_to_string(deploy.join("image/passwd")).unwrap();
    assert!(
        passwd.lines().any(|l| l.contains(":x:65532:65532:")),
        "{passwd}"
    );
}
