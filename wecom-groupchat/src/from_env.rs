//! A client from the environment: the `WECOM_*` variables the command-line tool reads.

use crate::client::{Client, ClientBuilder};
use crate::error::Error;

/// The corp id (企业ID).
pub const ENV_CORP_ID: &str = "WECOM_CORP_ID";
/// The secret of an app allowed to call customer-contact APIs.
pub const ENV_CORP_SECRET: &str = "WECOM_CORP_SECRET";
/// An access token to use as is, instead of the corp id and secret.
pub const ENV_ACCESS_TOKEN: &str = "WECOM_ACCESS_TOKEN";
/// The API base URL (a simulator's, a proxy's); default `https://qyapi.weixin.qq.com`.
pub const ENV_BASE_URL: &str = "WECOM_BASE_URL";

impl ClientBuilder {
    /// A builder set up from the environment, with the variables the command-line tool reads:
    ///
    /// - `WECOM_CORP_ID` and `WECOM_CORP_SECRET`: tokens fetched with `gettoken` and cached; or
    /// - `WECOM_ACCESS_TOKEN`: a token used as is (with `WECOM_CORP_ID` too, the rate budget is kept for
    ///   that corp);
    /// - `WECOM_BASE_URL` (optional): another server, e.g. a simulator.
    ///
    /// An empty variable counts as unset (`WECOM_ACCESS_TOKEN= cmd` is how a shell unsets one for a
    /// command). The other settings keep their defaults and can still be changed on the builder.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable that is missing, or saying that both `WECOM_CORP_SECRET` and
    /// `WECOM_ACCESS_TOKEN` are set. No value of a variable is ever in the message.
    pub fn from_env() -> Result<ClientBuilder, Error> {
        ClientBuilder::from_vars(|name| std::env::var(name).ok())
    }

    /// [`ClientBuilder::from_env`] with the variables read by `var` (a map in tests, a configuration
    /// service): it is given a variable's name and answers its value, `None` when unset.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use wecom_groupchat::ClientBuilder;
    ///
    /// let vars = HashMap::from([
    ///     ("WECOM_CORP_ID", "ww0123456789abcdef"),
    ///     ("WECOM_CORP_SECRET", "app-secret"),
    ///     ("WECOM_BASE_URL", "http://127.0.0.1:8080"), // a simulator; WeCom when unset
    /// ]);
    /// let client = ClientBuilder::from_vars(|name| vars.get(name).map(|v| v.to_string()))?.build()?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    ///
    /// let error = ClientBuilder::from_vars(|name| (name == "WECOM_CORP_ID").then(|| "ww0123".to_string()))
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("WECOM_CORP_SECRET is not set"));
    /// # Ok::<(), wecom_groupchat::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`ClientBuilder::from_env`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder, Error> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let corp_id = get(ENV_CORP_ID);
        let secret = get(ENV_CORP_SECRET);
        let token = get(ENV_ACCESS_TOKEN);
        let mut builder = Client::builder();
        if let Some(url) = get(ENV_BASE_URL) {
            builder = builder.base_url(url.trim());
        }
        let config = |message: String| Err(Error::Config(message));
        match (corp_id, secret, token) {
            (_, Some(_), Some(_)) => {
                config(format!("both {ENV_CORP_SECRET} and {ENV_ACCESS_TOKEN} are set in the environment: unset one"))
            }
            (Some(corp_id), Some(secret), None) => Ok(builder.corp_credentials(corp_id.trim(), secret)),
            (None, Some(_), None) => {
                config(format!("{ENV_CORP_ID} is not set in the environment (it goes with {ENV_CORP_SECRET})"))
            }
            (corp_id, None, Some(token)) => {
                let builder = builder.access_token(token);
                Ok(match corp_id {
                    Some(corp_id) => builder.rate_budget_corp(corp_id.trim()),
                    None => builder,
                })
            }
            (Some(_), None, None) => config(format!(
                "{ENV_CORP_SECRET} is not set in the environment (it goes with {ENV_CORP_ID}); or set \
                 {ENV_ACCESS_TOKEN}"
            )),
            (None, None, None) => config(format!(
                "no credentials in the environment: set {ENV_CORP_ID} and {ENV_CORP_SECRET}, or {ENV_ACCESS_TOKEN}"
            )),
        }
    }
}

impl Client {
    /// A client from the environment: [`ClientBuilder::from_env`], built. The variables are the
    /// command-line tool's: `WECOM_CORP_ID` and `WECOM_CORP_SECRET` (or `WECOM_ACCESS_TOKEN`), and
    /// optionally `WECOM_BASE_URL`.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), wecom_groupchat::Error> {
    /// use futures::TryStreamExt;
    /// use wecom_groupchat::Client;
    /// use wecom_groupchat::types::ListRequest;
    ///
    /// // WECOM_CORP_ID=ww0123456789abcdef WECOM_CORP_SECRET=… cargo run
    /// let client = Client::from_env()?;
    /// let chats: Vec<_> = client.list_stream(ListRequest::new(1000)).try_collect().await?;
    /// println!("{} chats", chats.len());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`ClientBuilder::from_env`], and [`ClientBuilder::build`]'s (a base URL that is not http(s)).
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<ClientBuilder, Error> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ClientBuilder::from_vars(|name| vars.get(name).cloned())
    }

    fn message(result: Result<ClientBuilder, Error>) -> String {
        match result {
            Err(Error::Config(message)) => message,
            Err(other) => panic!("not a configuration error: {other:?}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn corp_credentials_and_base_url() {
        let client =
            from(&[(ENV_CORP_ID, "ww0123"), (ENV_CORP_SECRET, "s3cr3t-value"), (ENV_BASE_URL, "http://127.0.0.1:9/")])
                .unwrap()
                .build()
                .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        assert!(!format!("{client:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn access_token_alone_or_with_a_corp_id() {
        // The default base URL is https: it builds with a TLS feature, and is refused without one.
        let builds = |vars: &[(&str, &str)]| {
            let built = from(vars).unwrap().build();
            assert_eq!(built.is_ok(), cfg!(any(feature = "rustls", feature = "native-tls")), "{built:?}");
        };
        builds(&[(ENV_ACCESS_TOKEN, "tok")]);
        builds(&[(ENV_ACCESS_TOKEN, "tok"), (ENV_CORP_ID, "ww0123")]);
        // An empty secret is unset: the token is used.
        builds(&[(ENV_ACCESS_TOKEN, "tok"), (ENV_CORP_SECRET, "")]);
    }

    #[test]
    fn a_missing_variable_is_named_and_no_value_shown() {
        let m = message(from(&[(ENV_CORP_ID, "ww0123")]));
        assert!(m.starts_with("WECOM_CORP_SECRET is not set"), "{m}");
        let m = message(from(&[(ENV_CORP_SECRET, "s3cr3t-value")]));
        assert!(m.starts_with("WECOM_CORP_ID is not set"), "{m}");
        assert!(!m.contains("s3cr3t-value"));
        let m = message(from(&[(ENV_CORP_ID, "ww0123"), (ENV_CORP_SECRET, "  ")]));
        assert!(m.starts_with("WECOM_CORP_SECRET is not set"), "{m}");
        let m = message(from(&[(ENV_BASE_URL, "http://127.0.0.1:9")]));
        assert!(m.starts_with("no credentials in the environment"), "{m}");
        let m =
            message(from(&[(ENV_CORP_ID, "ww0123"), (ENV_CORP_SECRET, "s3cr3t-value"), (ENV_ACCESS_TOKEN, "tok-v")]));
        assert!(m.contains("both WECOM_CORP_SECRET and WECOM_ACCESS_TOKEN"), "{m}");
        assert!(!m.contains("s3cr3t-value") && !m.contains("tok-v"));
    }

    #[test]
    fn a_bad_base_url_fails_to_build() {
        let builder = from(&[(ENV_ACCESS_TOKEN, "tok"), (ENV_BASE_URL, "ftp://example.com")]).unwrap();
        assert!(matches!(builder.build(), Err(Error::Config(_))));
    }
}
