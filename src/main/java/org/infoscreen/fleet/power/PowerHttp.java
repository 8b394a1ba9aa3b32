package org.infoscreen.fleet.power;

import org.apache.camel.Exchange;
import org.apache.camel.component.http.HttpActivityListener;
import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.auth.AuthScope;
import org.apache.hc.client5.http.auth.Credentials;
import org.apache.hc.client5.http.auth.CredentialsProvider;
import org.apache.hc.client5.http.auth.UsernamePasswordCredentials;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.protocol.HttpContext;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * HTTP helpers for the power-driver kamelets (bean {@code powerHttp}) and the wiring that lets
 * Apache HttpClient 5 answer a device's authentication challenge (HTTP Basic or Digest, RFC 7616,
 * including SHA-256) with credentials that come from the exchange, never from an endpoint URI.
 *
 * <p>A driver sets the exchange properties {@value #USER} and {@value #PASSWORD} (usually
 * {@code {{password}}}, bound to the power target's secret); camel-http hands each request a fresh
 * HttpClient context that carries the exchange (because an {@link HttpActivityListener} is
 * installed), and {@link #credentialsProvider()} reads the pair from there when a device answers
 * 401 with a challenge. URIs stay free of secrets (they are logged and kept in the endpoint
 * registry), and each request authenticates on its own: no credentials are cached between power
 * targets.
 */
public class PowerHttp {

    /** Exchange property with the user name for a challenge (Basic or Digest). */
    public static final String USER = "powerHttpUser";
    /** Exchange property with the password for a challenge. */
    public static final String PASSWORD = "powerHttpPassword";
    /** Attribute camel-http sets on the HttpClient context when an activity listener is installed. */
    static final String EXCHANGE_ATTRIBUTE = "org.apache.camel.Exchange";

    /**
     * @return a credentials provider answering every challenge with the user and password of the
     *         exchange being sent (none when the exchange carries no password)
     */
    public CredentialsProvider credentialsProvider() {
        return new CredentialsProvider() {
            @Override
            public Credentials getCredentials(AuthScope authScope, HttpContext context) {
                Object ex = context == null ? null : context.getAttribute(EXCHANGE_ATTRIBUTE);
                if (!(ex instanceof Exchange exchange)) {
                    return null;
                }
                String user = exchange.getProperty(USER, String.class);
                String password = exchange.getProperty(PASSWORD, String.class);
                if (user == null || user.isEmpty() || password == null || password.isEmpty()) {
                    return null;
                }
                return new UsernamePasswordCredentials(user, password.toCharArray());
            }
        };
    }

    /** @return a client configurer installing {@link #credentialsProvider()} on camel-http's clients */
    public HttpClientConfigurer clientConfigurer() {
        CredentialsProvider provider = credentialsProvider();
        return (HttpClientBuilder builder) -> builder.setDefaultCredentialsProvider(provider);
    }

    /**
     * @return an activity listener that does nothing; installing one makes camel-http put the
     *         exchange into the HttpClient context, where {@link #credentialsProvider()} finds it
     */
    public HttpActivityListener activityListener() {
        return new HttpActivityListener() {
            @Override
            public void onRequestSubmitted(Object source, Exchange exchange, HttpHost host, HttpRequest request, HttpEntity entity) {
                // nothing to record: the request line may carry credentials (Tasmota)
            }

            @Override
            public void onResponseReceived(Object source, Exchange exchange, HttpHost host, HttpResponse response,
                                           HttpEntity entity, long elapsed) {
                // nothing to record
            }
        };
    }

    /**
     * @param user     user name
     * @param password password
     * @return an {@code Authorization} header value for HTTP Basic (RFC 7617), or {@code null}
     *         when there is no password (the header is then not sent)
     */
    public String basic(String user, String password) {
        if (password == null || password.isEmpty()) {
            return null;
        }
        String pair = (user == null ? "" : user) + ":" + password;
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param token bearer token
     * @return an {@code Authorization} header value (RFC 6750), or {@code null} without a token
     */
    public String bearer(String token) {
        return token == null || token.isEmpty() ? null : "Bearer " + token;
    }

    /**
     * @param value text
     * @return the text URL-encoded as a query component (UTF-8; space as {@code %20}), {@code ""} for null
     */
    public String urlEncode(String value) {
        return value == null ? "" : URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /**
     * Builds a query string ({@code CamelHttpQuery}) from name/value pairs, URL-encoding the values
     * and leaving out pairs whose value is null or empty.
     *
     * @param n1 first name
     * @param v1 first value
     * @return e.g. {@code cmnd=Power1%20On}
     */
    public String query(String n1, String v1) {
        return join(new String[] {n1, v1});
    }

    /** Two pairs; see {@link #query(String, String)}. */
    public String query(String n1, String v1, String n2, String v2) {
        return join(new String[] {n1, v1, n2, v2});
    }

    /** Three pairs; see {@link #query(String, String)}. */
    public String query(String n1, String v1, String n2, String v2, String n3, String v3) {
        return join(new String[] {n1, v1, n2, v2, n3, v3});
    }

    /**
     * @param text  an answer of a device
     * @param regex a regular expression (Java syntax)
     * @return whether the regex is found anywhere in the text
     * @throws PowerFatalException when the regex is not valid (a configuration error)
     */
    public boolean find(String text, String regex) {
        if (text == null || regex == null || regex.isEmpty()) {
            return false;
        }
        try {
            return Pattern.compile(regex).matcher(text).find();
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new PowerFatalException("configuration: the regular expression is not valid: " + e.getDescription());
        }
    }

    /**
     * @param location a {@code Location} header: an absolute URL or a path
     * @return its path, or {@code null} when there is none or it is not a plain path under
     *         {@code /redfish/} (a device cannot send the service to another host)
     */
    public String path(String location) {
        if (location == null || location.isBlank()) {
            return null;
        }
        String path = location;
        try {
            if (location.contains("://")) {
                path = java.net.URI.create(location).getRawPath();
            }
        } catch (IllegalArgumentException e) {
            return null;
        }
        return path != null && path.startsWith("/redfish/") && !path.contains("//") && !path.contains("@") ? path : null;
    }

    private String join(String[] pairs) {
        StringBuilder q = new StringBuilder();
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (pairs[i + 1] == null || pairs[i + 1].isEmpty()) {
                continue;
            }
            if (!q.isEmpty()) {
                q.append('&');
            }
            q.append(pairs[i]).append('=').append(urlEncode(pairs[i + 1]));
        }
        return q.toString();
    }
}
