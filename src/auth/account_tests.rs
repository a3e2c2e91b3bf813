//! Unit tests of the account rules (a file of their own, keeping `account.rs` under 600 lines).

use super::*;

#[test]
fn field_rules_give_clear_messages() {
    let mut e = FieldErrors::new();
    check_username(&mut e, "jake_the-dog");
    check_email(&mut e, "jake@example.com");
    check_password(&mut e, "long enough", "jake", "jake@example.com");
    assert!(e.is_empty(), "{e:?}");

    let mut e = FieldErrors::new();
    check_username(&mut e, "no spaces");
    check_email(&mut e, "nope");
    check_password(&mut e, "Jake_The_Dog", "jake_the_dog", "j@x.io");
    assert_eq!(
        e.0["username"],
        vec!["may only contain letters, digits, _ and -"]
    );
    assert_eq!(e.0["email"], vec!["is invalid"]);
    assert_eq!(
        e.0["password"],
        vec!["must not be the same as your username or email"]
    );
}
