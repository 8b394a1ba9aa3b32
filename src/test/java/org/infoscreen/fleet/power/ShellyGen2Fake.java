package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * A Shelly Gen2+ device (Plus, Pro, Gen3, Gen4) as its JSON-RPC API behaves over HTTP:
 * {@code POST /rpc} with {@code Switch.Set {"id", "on", "toggle_after"}} and
 * {@code Switch.GetStatus {"id"}} (answer {@code output}); JSON-RPC errors (-103 invalid argument,
 * -105 not found for an unknown switch id, -104/-114 on demand).
 *
 * <p>With a password, every request needs HTTP Digest (RFC 7616) the way the device asks for it:
 * {@code WWW-Authenticate: Digest qop="auth", realm="<device id>", nonce="…=", algorithm=SHA-256,
 * opaque=""}; user {@code admin}; the response is checked (SHA-256), a nonce count may never be
 * reused for a nonce, and with {@link #staleNonceOnce()} the first correctly signed request is
 * refused with {@code stale=true} and a fresh nonce, as the device does after its nonce expired.
 */
public final class ShellyGen2Fake extends FakeDevice {

    private static final Pattern PARAM = Pattern.compile("(\\w+)=(?:\"([^\"]*)\"|([^,\\s]*))");
    private final String deviceId = "shellyplus1pm-" + HexFormat.of().formatHex(new byte[] {(byte) 0xa8, 0x03, 0x2a, (byte) 0xb1, 0x23, 0x45});
    private final String password;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Integer> nonces = new ConcurrentHashMap<>();
    private final AtomicInteger challenges = new AtomicInteger();
    private final AtomicInteger staleAnswers = new AtomicInteger();
    private volatile boolean staleOnce;
    private volatile Integer rpcError;

    /** @param password the device's password, or {@code null} for authentication off */
    public ShellyGen2Fake(String password) {
        super(false);
        this.password = password;
    }

    /** The next correctly signed request is refused with {@code stale=true}. */
    public ShellyGen2Fake staleNonceOnce() {
        this.staleOnce = true;
        return this;
    }

    /** Every RPC answers this JSON-RPC error code (e.g. -104 deadline exceeded), until cleared with null. */
    public ShellyGen2Fake rpcError(Integer code) {
        this.rpcError = code;
        return this;
    }

    /** @return the device id (the digest realm) */
    public String deviceId() {
        return deviceId;
    }

    /** @return how many 401 challenges were sent */
    public int challenges() {
        return challenges.get();
    }

    /** @return how many {@code stale=true} challenges were sent */
    public int staleAnswers() {
        return staleAnswers.get();
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        if (!"/rpc".equals(request.getUrl())) {
            return json(404, "{\"code\":404,\"message\":\"Not Found\"}");
        }
        if (password != null) {
            ResponseDefinitionBuilder refused = authenticate(request);
            if (refused != null) {
                return refused;
            }
        }
        JsonNode rpc = body(request);
        int id = rpc.path("params").path("id").asInt(0);
        String method = rpc.path("method").asText();
        if (rpcError != null) {
            return error(rpc, rpcError, "error " + rpcError);
        }
        if (id != 0) {
            return error(rpc, -105, "Argument 'id', value " + id + " not found!");
        }
        ObjectNode result = JSON.createObjectNode();
        switch (method) {
            case "Switch.GetStatus" -> {
                result.put("id", id);
                result.put("source", "HTTP_in");
                result.put("output", isOn(id));
                result.put("apower", isOn(id) ? 11.8 : 0.0);
            }
            case "Switch.Set" -> {
                if (!rpc.path("params").has("on") || !rpc.path("params").path("on").isBoolean()) {
                    return error(rpc, -103, "Missing required argument 'on'!");
                }
                boolean on = rpc.path("params").path("on").asBoolean();
                result.put("was_on", isOn(id));
                JsonNode toggle = rpc.path("params").path("toggle_after");
                set(id, on, toggle.isNumber() ? "Switch.Set toggle_after=" + toggle.asDouble() : "Switch.Set");
                if (toggle.isNumber()) {
                    setLater(id, !on, toggle.asDouble(), "toggle_after timer");
                }
            }
            default -> {
                return error(rpc, -114, "Method " + method + " failed: not found");
            }
        }
        ObjectNode answer = JSON.createObjectNode();
        answer.put("id", rpc.path("id").asInt());
        answer.put("src", deviceId);
        answer.set("result", result);
        return json(200, answer);
    }

    private ResponseDefinitionBuilder error(JsonNode rpc, int code, String message) {
        ObjectNode answer = JSON.createObjectNode();
        answer.put("id", rpc.path("id").asInt());
        answer.put("src", deviceId);
        answer.putObject("error").put("code", code).put("message", message);
        return json(200, answer);
    }

    private ResponseDefinitionBuilder authenticate(Request request) {
        String h = request.getHeader("Authorization");
        if (h == null || !h.startsWith("Digest ")) {
            return challenge(false);
        }
        Map<String, String> p = new LinkedHashMap<>();
        Matcher m = PARAM.matcher(h.substring(7));
        while (m.find()) {
            p.put(m.group(1).toLowerCase(), m.group(2) != null ? m.group(2) : m.group(3));
        }
        String nonce = p.get("nonce");
        Integer lastCount = nonce == null ? null : nonces.get(nonce);
        if (!"admin".equals(p.get("username")) || !deviceId.equals(p.get("realm")) || lastCount == null
                || !"SHA-256".equalsIgnoreCase(p.get("algorithm")) || !"auth".equals(p.get("qop"))
                || p.get("nc") == null || !p.get("nc").matches("[0-9a-fA-F]{8}") || p.get("cnonce") == null) {
            return challenge(false);
        }
        int nc = Integer.parseInt(p.get("nc"), 16);
        String ha1 = sha256("admin:" + deviceId + ":" + password);
        String ha2 = sha256(request.getMethod().value() + ":" + p.get("uri"));
        String expected = sha256(ha1 + ":" + nonce + ":" + p.get("nc") + ":" + p.get("cnonce") + ":auth:" + ha2);
        if (!expected.equals(p.get("response"))) {
            return challenge(false);
        }
        if (nc <= lastCount) {
            return challenge(false); // a replayed nonce count
        }
        nonces.put(nonce, nc);
        if (staleOnce) {
            staleOnce = false;
            nonces.remove(nonce);
            return challenge(true);
        }
        return null;
    }

    private ResponseDefinitionBuilder challenge(boolean stale) {
        challenges.incrementAndGet();
        if (stale) {
            staleAnswers.incrementAndGet();
        }
        byte[] raw = new byte[7]; // base64 of 7 bytes ends in "=", as the device's nonces often do
        random.nextBytes(raw);
        String nonce = Base64.getEncoder().encodeToString(raw);
        nonces.put(nonce, 0);
        String header = "Digest qop=\"auth\", realm=\"" + deviceId + "\", nonce=\"" + nonce + "\", algorithm=SHA-256, opaque=\"\""
                + (stale ? ", stale=true" : "");
        return aResponse().withStatus(401).withHeader("WWW-Authenticate", header)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"code\":401,\"message\":\"Unauthorized\"}");
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
