//! The callback [`Receiver`] as an axum [`Router`] (feature `axum`).
//!
//! ```no_run
//! # async fn example(receiver: wecom_groupchat::callback::Receiver) -> std::io::Result<()> {
//! let app = wecom_groupchat::callback::axum::router(receiver, "/wecom/callback");
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::callback::receiver::{CallbackResponse, Receiver};

/// A router serving the callback URL at `path`: GET (URL verification) and POST (events); other methods
/// are answered 405 with `Allow: GET, POST`. A POST body is read up to the receiver's
/// [`max_body`](Receiver::max_body) and no further: a longer one (or one announced longer by its
/// `Content-Length`) is answered 413.
///
/// # Panics
///
/// If `path` is not a valid axum route (it must start with `/`), as [`Router::route`] does.
pub fn router(receiver: Receiver, path: &str) -> Router {
    Router::new().route(path, any(serve)).with_state(receiver)
}

async fn serve(State(receiver): State<Receiver>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = parts.uri.query().unwrap_or("");
    let limit = receiver.max_body();
    let bytes = if parts.method == Method::POST {
        let announced =
            parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit as u64) {
            return into_response(CallbackResponse::error(413));
        }
        // Reads at most `limit` bytes; a longer body (or a broken one, whose answer nobody reads) fails.
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(_) => return into_response(CallbackResponse::error(413)),
        }
    } else {
        Default::default()
    };
    into_response(receiver.handle(parts.method.as_str(), query, &bytes).await)
}

fn into_response(answer: CallbackResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(answer.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::callback::CallbackMessage;
    use crate::callback::crypto::tests::*;
    use crate::events::Event;

    fn chat_id(msg: &CallbackMessage) -> String {
        match &msg.event.event {
            Event::ChangeExternalChat(change) => change.chat_id.clone(),
            other => panic!("not a change_external_chat: {other:?}"),
        }
    }

    /// Serves `router` on an ephemeral loopback port; returns its base URL.
    async fn serve_on_loopback(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{addr}")
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
    }

    /// POSTs `chunks` chunks of 1 KiB with `Transfer-Encoding: chunked` over a raw connection; returns
    /// the start of the answer.
    async fn chunked_post(base: &str, path_and_query: &str, chunks: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!("POST {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..chunks {
            // The server may answer and close before everything is sent.
            if stream.write_all(format!("400\r\n{}\r\n", " ".repeat(1024)).as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let mut answer = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await.unwrap().unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    }

    fn event(chat: usize) -> String {
        format!(
            "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[chat{chat}]]></ChatId><ChangeType><![CDATA[create]]></ChangeType></xml>"
        )
    }

    #[tokio::test]
    async fn answers_url_verification_with_the_exact_plaintext() {
        let (receiver, _rx) = Receiver::channel(sample(), 1);
        let base = serve_on_loopback(router(receiver, "/cb")).await;
        let url = format!(
            "{base}/cb?msg_signature={URL_SIGNATURE}&timestamp={URL_TIMESTAMP}&nonce={URL_NONCE}&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
        );
        let answer = client().get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(answer.bytes().await.unwrap().as_ref(), URL_PLAINTEXT.as_bytes());

        let forged = url.replace(URL_SIGNATURE, POST_SIGNATURE);
        assert_eq!(client().get(&forged).send().await.unwrap().status(), 401);
        let put = client().put(&url).send().await.unwrap();
        assert_eq!(
            (put.status().as_u16(), &put.headers()[header::ALLOW]),
            (405, &HeaderValue::from_static("GET, POST"))
        );
        assert_eq!(client().get(format!("{base}/other")).send().await.unwrap().status(), 404);
    }

    #[tokio::test]
    async fn concurrent_deliveries_and_redeliveries_over_loopback() {
        let received = Arc::new(Mutex::new(Vec::<String>::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (sink, counter) = (received.clone(), calls.clone());
        let receiver = Receiver::new(sample(), move |msg: CallbackMessage| {
            counter.fetch_add(1, Ordering::SeqCst);
            let sink = sink.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                sink.lock().unwrap().push(chat_id(&msg));
                Ok(())
            }
        });
        let base = serve_on_loopback(router(receiver, "/wecom/callback")).await;
        let client = client();
        let crypto = sample();

        // 24 distinct events, each delivered twice at once (sealed separately), all concurrently.
        let deliveries = (0..48).map(|i| {
            let sealed = crypto.encrypt(&event(i % 24), "1700000000", &format!("nonce{i}")).unwrap();
            let url = format!("{base}/wecom/callback?{}", sealed.post_query());
            let request = client.post(url).body(sealed.post_body(RECEIVE_ID, Some("1000002")));
            async move {
                let answer = request.send().await.unwrap();
                (i % 24, answer.status().as_u16(), answer.text().await.unwrap())
            }
        });
        let answers =
            tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(deliveries)).await.unwrap();
        for (chat, status, body) in &answers {
            // The twin of a message being handled is told to come back (503), or finds it done (200).
            assert!(*status == 200 || *status == 503, "chat {chat}: {status}");
            if *status == 200 {
                assert_eq!(body, "");
            }
        }
        // Redeliver everything that got a 503, as WeCom would.
        for (chat, _, _) in answers.iter().filter(|a| a.1 == 503) {
            let sealed = crypto.encrypt(&event(*chat), "1700000001", "again").unwrap();
            let url = format!("{base}/wecom/callback?{}", sealed.post_query());
            let answer = client.post(url).body(sealed.post_body(RECEIVE_ID, None)).send().await.unwrap();
            assert_eq!(answer.status(), 200);
        }
        let mut chats = received.lock().unwrap().clone();
        chats.sort();
        let mut expected: Vec<String> = (0..24).map(|i| format!("chat{i}")).collect();
        expected.sort();
        assert_eq!(chats, expected, "every event handed over exactly once");
        assert_eq!(calls.load(Ordering::SeqCst), 24);
    }

    #[tokio::test]
    async fn refuses_oversized_bodies_without_reading_them_whole() {
        let (receiver, mut rx) = Receiver::builder(sample()).max_body(2048).channel(4);
        let base = serve_on_loopback(router(receiver, "/cb")).await;
        let sealed = sample().encrypt(&event(1), "1", "2").unwrap();
        let url = format!("{base}/cb?{}", sealed.post_query());

        let padded = format!("{}{}", sealed.post_body(RECEIVE_ID, None), " ".repeat(4096));
        assert_eq!(client().post(&url).body(padded).send().await.unwrap().status(), 413);
        // No Content-Length: a chunked body that would go on for 64 KiB, cut off at the cap.
        let streamed = chunked_post(&base, &format!("/cb?{}", sealed.post_query()), 64).await;
        assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
        assert!(rx.try_recv().is_err());

        let ok = client().post(&url).body(sealed.post_body(RECEIVE_ID, None)).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(chat_id(&rx.recv().await.unwrap()), "chat1");
    }
}
