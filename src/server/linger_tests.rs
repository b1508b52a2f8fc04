//! Lingering close: the write side closes first, what the client still sends is read and
//! discarded, and the wait ends when the client closes or at the bounds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

use super::*;

#[tokio::test]
async fn shutdown_closes_the_write_side_and_reads_until_the_client_closes() {
    let (server, mut client) = duplex(1024);
    let mut server = Linger::new(server);
    server
        .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        .await
        .unwrap();
    let closing = tokio::spawn(async move { server.shutdown().await });
    // The answer and the end of it arrive while the client is still sending.
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).await.unwrap();
    assert_eq!(answer, b"HTTP/1.1 400 Bad Request\r\n\r\n");
    for _ in 0..64 {
        client.write_all(&[b'x'; 1000]).await.unwrap();
    }
    assert!(!closing.is_finished());
    drop(client);
    closing.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_stops_waiting_after_the_linger_time() {
    let (server, client) = duplex(1024);
    let mut server = Linger::new(server);
    let started = std::time::Instant::now();
    server.shutdown().await.unwrap();
    assert!(started.elapsed() >= LINGER_TIME);
    drop(client);
}

#[tokio::test]
async fn shutdown_stops_reading_after_the_byte_bound() {
    let (server, mut client) = duplex(64 << 10);
    let mut server = Linger::new(server);
    let sender = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 << 10];
        let mut sent = 0u64;
        // Sends until the server stops reading: past the bound, writes fail or block.
        while sent <= LINGER_BYTES + (1 << 20) {
            let write = client.write_all(&chunk);
            match tokio::time::timeout(Duration::from_millis(200), write).await {
                Ok(Ok(())) => sent += chunk.len() as u64,
                _ => break,
            }
        }
        sent
    });
    server.shutdown().await.unwrap();
    drop(server);
    let sent = sender.await.unwrap();
    assert!(sent >= LINGER_BYTES, "{sent}");
    assert!(sent <= LINGER_BYTES + (1 << 20), "{sent}");
}
