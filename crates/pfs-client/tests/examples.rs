//! The examples, run: each over the in-memory transport and over two Waku nodes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::duplicate_mod,
    missing_docs
)]

#[path = "../examples/echo_bot.rs"]
#[allow(dead_code)]
mod echo_bot;

#[path = "../examples/two_party_chat.rs"]
#[allow(dead_code)]
mod two_party_chat;

#[test]
fn echo_bot_answers_every_line() {
    for over_node in [false, true] {
        let got = echo_bot::run(over_node, &["hello", "how are you?"]).unwrap();
        assert_eq!(
            got,
            ["echo: hello", "echo: how are you?"],
            "node: {over_node}"
        );
    }
}

#[test]
fn two_party_chat_with_contact_request_and_acks() {
    for over_node in [false, true] {
        let (alice_read, bob_read) = two_party_chat::run(over_node).unwrap();
        assert_eq!(alice_read, ["Hi Alice!"], "node: {over_node}");
        assert_eq!(bob_read, ["How are you?"], "node: {over_node}");
    }
}
