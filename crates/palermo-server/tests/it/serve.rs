//! One real server on a loopback port, reached with an HTTP client.

use palermo_server::serve;
use tokio::net::TcpListener;

use crate::util::node;

#[tokio::test]
async fn serves_on_a_real_port_and_shuts_down() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let node = node(|_| {}).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, node.state.clone(), async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/health");
    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let ok = client
        .get(&url)
        .bearer_auth(&node.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(client.get(&url).send().await.is_err());
}
