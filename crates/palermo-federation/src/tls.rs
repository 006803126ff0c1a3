//! rustls configurations for mutual TLS between nodes.
//!
//! Both sides use the ring provider explicitly (`builder_with_provider`; the
//! process default is never relied on, since other crates compile in a second
//! provider), TLS 1.3 only, and the federation's CA certificate as the only root:
//! a node accepts exactly the certificates its trust anchor issued. Which member a
//! certificate belongs to, and whether that member is revoked or expired, is the
//! directory's business ([`crate::Directory::member_by_cert`] and
//! [`crate::Directory::admit`]) after the handshake.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::{Error, Result};
use crate::pki::{NodeIdentity, node_server_name};

/// The crypto provider of every federation TLS configuration (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(what: &str) -> impl Fn(rustls::Error) -> Error + '_ {
    move |err| Error::Tls(format!("{what}: {err}"))
}

/// Parses the first certificate of a PEM text.
pub fn cert_der_from_pem(pem: &str, what: &str) -> Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|err| Error::format(what, format!("not a PEM certificate: {err}")))
}

/// A root store holding only the anchor's CA certificate.
pub fn anchor_roots(ca_cert_pem: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert_der_from_pem(ca_cert_pem, "CA certificate")?)
        .map_err(tls_err("CA certificate"))?;
    Ok(roots)
}

/// The TLS server name to connect to `node_id` with (`<node-id>.palermo.node`,
/// which every node certificate carries besides its endpoint host).
pub fn server_name(node_id: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(node_server_name(node_id)).map_err(|err| Error::invalid("node id", err))
}

struct NodeTls {
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn node_tls(id: &NodeIdentity) -> Result<NodeTls> {
    let (Some(cert_pem), Some(ca_pem)) = (id.cert_pem(), id.ca_cert_pem()) else {
        return Err(Error::NotEnrolled {
            node_id: id.node_id.clone(),
        });
    };
    Ok(NodeTls {
        roots: Arc::new(anchor_roots(ca_pem)?),
        chain: vec![cert_der_from_pem(cert_pem, "node certificate")?],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.tls_key_der())),
    })
}

/// The server side of the peer endpoint: presents the node's certificate and
/// requires a client certificate chained to the anchor's CA. ALPN offers `h2`
/// and `http/1.1`.
pub fn server_config(id: &NodeIdentity) -> Result<Arc<ServerConfig>> {
    let tls = node_tls(id)?;
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(tls.roots, provider.clone())
        .build()
        .map_err(|err| Error::Tls(format!("client certificate verifier: {err}")))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err("protocol versions"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(tls.chain, tls.key)
        .map_err(tls_err("node certificate and key"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client side: presents the node's certificate and trusts only the anchor's CA.
pub fn client_config(id: &NodeIdentity) -> Result<Arc<ClientConfig>> {
    let tls = node_tls(id)?;
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err("protocol versions"))?
        .with_root_certificates(tls.roots)
        .with_client_auth_cert(tls.chain, tls.key)
        .map_err(tls_err("node certificate and key"))?;
    Ok(Arc::new(config))
}

/// Checks that an enrolled node's certificate belongs to its TLS key and chains
/// to the anchor's CA (checked at the start of the certificate's validity, so an
/// expired identity still loads; expiry is enforced at the handshake and by the
/// directory).
pub(crate) fn check_node_cert(id: &NodeIdentity) -> Result<()> {
    let tls = node_tls(id)?;
    let provider = provider();
    let key = provider
        .key_provider
        .load_private_key(tls.key)
        .map_err(tls_err("TLS key"))?;
    let certified = CertifiedKey::new(tls.chain.clone(), key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(_) => {
            return Err(Error::invalid(
                "node certificate",
                "is not for this node's TLS key",
            ));
        }
    }
    let not_before = id
        .cert_validity()
        .map(|(nb, _)| nb.unix_timestamp())
        .unwrap_or(0);
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(not_before).unwrap_or(0) + 1,
    ));
    let verifier = WebPkiClientVerifier::builder_with_provider(tls.roots, provider)
        .build()
        .map_err(|err| Error::Tls(format!("client certificate verifier: {err}")))?;
    let Some(end_entity) = tls.chain.first() else {
        return Err(Error::invalid("node certificate", "missing"));
    };
    verifier
        .verify_client_cert(end_entity, &[], at)
        .map_err(|err| {
            Error::invalid(
                "node certificate",
                format!("not issued by the anchor's CA: {err}"),
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use rcgen::{CertificateParams, KeyPair};
    use rustls::{ClientConnection, ServerConnection};
    use time::OffsetDateTime;

    use super::*;
    use crate::testutil::Fed;

    /// Runs a TLS handshake in memory; returns the client's and the server's outcome.
    fn handshake(
        client: Arc<ClientConfig>,
        server: Arc<ServerConfig>,
        name: &str,
    ) -> (
        std::result::Result<(), rustls::Error>,
        std::result::Result<ServerConnection, rustls::Error>,
    ) {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let mut c = ClientConnection::new(client, name).unwrap();
        let mut s = ServerConnection::new(server).unwrap();
        let mut client_result = Ok(());
        let mut server_result = Ok(());
        for _ in 0..20 {
            let mut progressed = false;
            let mut buf = Vec::new();
            while c.wants_write() && c.write_tls(&mut buf).is_ok_and(|n| n > 0) {}
            if !buf.is_empty() {
                progressed = true;
                if server_result.is_ok() {
                    let _ = s.read_tls(&mut buf.as_slice());
                    if let Err(err) = s.process_new_packets() {
                        server_result = Err(err);
                    }
                }
            }
            let mut buf = Vec::new();
            while s.wants_write() && s.write_tls(&mut buf).is_ok_and(|n| n > 0) {}
            if !buf.is_empty() {
                progressed = true;
                if client_result.is_ok() {
                    let _ = c.read_tls(&mut buf.as_slice());
                    if let Err(err) = c.process_new_packets() {
                        client_result = Err(err);
                    }
                }
            }
            let done = !c.is_handshaking() && !s.is_handshaking();
            if client_result.is_ok() && server_result.is_ok() && done {
                // Prove the channel works.
                c.writer().write_all(b"ping").unwrap();
                let mut buf = Vec::new();
                c.write_tls(&mut buf).unwrap();
                s.read_tls(&mut buf.as_slice()).unwrap();
                s.process_new_packets().unwrap();
                let mut got = [0u8; 4];
                s.reader().read_exact(&mut got).unwrap();
                assert_eq!(&got, b"ping");
                break;
            }
            if !progressed {
                break;
            }
        }
        (client_result, server_result.map(|()| s))
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn nodes_of_one_anchor_complete_mutual_tls() {
        let mut fed = Fed::new("test", now());
        let dir = fed.directory();
        let (nl, de) = (fed.node("nl-knp"), fed.node("de-bka"));
        let (client, server) = handshake(
            client_config(nl).unwrap(),
            server_config(de).unwrap(),
            "de-bka.palermo.node",
        );
        client.unwrap();
        let server = server.unwrap();
        assert!(!server.is_handshaking());
        // The server binds the client's certificate to its directory member.
        let presented = server.peer_certificates().unwrap();
        assert_eq!(dir.member_by_cert(&presented[0]).unwrap().node_id, "nl-knp");
        // The endpoint's IP address is in the certificate too.
        let (client, server) = handshake(
            client_config(nl).unwrap(),
            server_config(de).unwrap(),
            "127.0.0.1",
        );
        client.unwrap();
        server.unwrap();
        // But not another node's name.
        let (client, _) = handshake(
            client_config(nl).unwrap(),
            server_config(de).unwrap(),
            "fr-ocrteh.palermo.node",
        );
        assert!(client.is_err());
    }

    #[test]
    fn a_client_from_another_anchor_is_refused_by_the_server() {
        let ours = Fed::new("ours", now());
        let theirs = Fed::new("theirs", now());
        // The intruder trusts our CA (so it accepts our server) but its certificate
        // comes from another anchor.
        let intruder = theirs.node("nl-knp");
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(
                anchor_roots(ours.node("de-bka").ca_cert_pem().unwrap()).unwrap(),
            )
            .with_client_auth_cert(
                vec![cert_der_from_pem(intruder.cert_pem().unwrap(), "test").unwrap()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(intruder.tls_key_der())),
            )
            .unwrap();
        let (_, server) = handshake(
            Arc::new(client),
            server_config(ours.node("de-bka")).unwrap(),
            "de-bka.palermo.node",
        );
        assert!(
            matches!(server, Err(rustls::Error::InvalidCertificate(_))),
            "{:?}",
            server.err()
        );
        // And with its own configuration it refuses our server, so nothing connects.
        let (client, server) = handshake(
            client_config(intruder).unwrap(),
            server_config(ours.node("de-bka")).unwrap(),
            "de-bka.palermo.node",
        );
        assert!(
            matches!(client, Err(rustls::Error::InvalidCertificate(_))),
            "{client:?}"
        );
        assert!(server.is_err());
    }

    #[test]
    fn a_server_from_another_anchor_is_refused_by_the_client() {
        let ours = Fed::new("ours", now());
        let theirs = Fed::new("theirs", now());
        let (client, server) = handshake(
            client_config(ours.node("nl-knp")).unwrap(),
            server_config(theirs.node("de-bka")).unwrap(),
            "de-bka.palermo.node",
        );
        assert!(
            matches!(client, Err(rustls::Error::InvalidCertificate(_))),
            "{client:?}"
        );
        assert!(server.is_err());
    }

    /// A self-signed certificate for `name`, with its key, as rustls wants them.
    fn self_signed(name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    #[test]
    fn self_signed_certificates_are_refused_both_ways() {
        let fed = Fed::new("test", now());
        let ca = fed.node("de-bka").ca_cert_pem().unwrap().to_owned();
        // A self-signed client that trusts our CA.
        let (chain, key) = self_signed("nl-knp.palermo.node");
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(anchor_roots(&ca).unwrap())
            .with_client_auth_cert(chain, key)
            .unwrap();
        let (_, server) = handshake(
            Arc::new(client),
            server_config(fed.node("de-bka")).unwrap(),
            "de-bka.palermo.node",
        );
        assert!(
            matches!(server, Err(rustls::Error::InvalidCertificate(_))),
            "{:?}",
            server.err()
        );
        // A self-signed server that asks for our client certificate.
        let (chain, key) = self_signed("de-bka.palermo.node");
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(anchor_roots(&ca).unwrap()),
            provider(),
        )
        .build()
        .unwrap();
        let server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        let (client, _) = handshake(
            client_config(fed.node("nl-knp")).unwrap(),
            Arc::new(server),
            "de-bka.palermo.node",
        );
        assert!(
            matches!(client, Err(rustls::Error::InvalidCertificate(_))),
            "{client:?}"
        );
    }

    #[test]
    fn an_expired_certificate_is_refused() {
        let fed = Fed::new("test", now());
        // Enrolled 400 days ago for one day, by the same anchor.
        let mut old = NodeIdentity::init("IT", "Polizia", "https://127.0.0.1:8446").unwrap();
        let long_ago = now() - time::Duration::days(400);
        let e = fed
            .anchor
            .enroll(&old.enrollment_request(), long_ago, 1)
            .unwrap();
        old.install(&e).unwrap();
        let (_, server) = handshake(
            client_config(&old).unwrap(),
            server_config(fed.node("de-bka")).unwrap(),
            "de-bka.palermo.node",
        );
        assert!(
            matches!(
                server,
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Expired
                )) | Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ExpiredContext { .. }
                ))
            ),
            "{:?}",
            server.err()
        );
        let (client, _) = handshake(
            client_config(fed.node("nl-knp")).unwrap(),
            server_config(&old).unwrap(),
            "it-polizia.palermo.node",
        );
        assert!(
            matches!(client, Err(rustls::Error::InvalidCertificate(_))),
            "{client:?}"
        );
    }

    #[test]
    fn an_unenrolled_node_has_no_tls_config() {
        let node = NodeIdentity::init("IT", "Polizia", "https://10.0.0.9:443").unwrap();
        assert!(matches!(
            server_config(&node),
            Err(Error::NotEnrolled { .. })
        ));
        assert!(matches!(
            client_config(&node),
            Err(Error::NotEnrolled { .. })
        ));
    }
}
