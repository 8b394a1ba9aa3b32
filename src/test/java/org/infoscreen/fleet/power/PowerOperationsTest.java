package org.infoscreen.fleet.power;

import org.apache.camel.http.base.HttpOperationFailedException;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which driver failures the shared power route retries, and how it names them: retryable ones
 * (connection refused, reset, timeout, 408/429/5xx) are retried, fatal ones (auth, configuration,
 * unsupported) fail at once with a detail.
 */
class PowerOperationsTest {

    private final PowerOperations ops = new PowerOperations(null, null, null, 10, 300);

    private static HttpOperationFailedException http(int code) {
        return new HttpOperationFailedException("http://plug/rpc", code, "x", null, Map.of(), "{\"code\":" + code + "}");
    }

    @Test
    void transientNetworkErrorsAndTemporaryDeviceAnswersAreRetryable() {
        assertThat(ops.retryable(new ConnectException("Connection refused"))).isTrue();
        assertThat(ops.retryable(new SocketTimeoutException("Read timed out"))).isTrue();
        assertThat(ops.retryable(new RuntimeException("wrapped", new SocketException("Connection reset")))).isTrue();
        assertThat(ops.retryable(http(503))).isTrue();
        assertThat(ops.retryable(http(429))).isTrue();
        assertThat(ops.retryable(new PowerRetryableException("Shelly RPC error -104"))).isTrue();
        assertThat(ops.kind(new SocketException("Connection reset"))).isEqualTo("retryable");
        assertThat(ops.failure(new SocketException("Connection reset"), "off")).isEqualTo("off: connection lost (Connection reset)");
    }

    @Test
    void aTimeoutOfAnOffOrCycleThatMayHaveBeenExecutedIsNeverRetriedConnectionRefusedIs() {
        SocketTimeoutException readTimeout = new SocketTimeoutException("Read timed out");
        assertThat(ops.retryable(readTimeout, "cycle")).isFalse();
        assertThat(ops.ambiguous(readTimeout, "cycle")).isTrue();
        assertThat(ops.retryable(new RuntimeException("wrapped", new SocketException("Connection reset")), "off")).isFalse();
        assertThat(ops.retryable(readTimeout, "on")).isTrue();
        assertThat(ops.retryable(readTimeout, "query")).isTrue();
        // nothing sent: safe to send again
        assertThat(ops.retryable(new ConnectException("Connection refused"), "cycle")).isTrue();
        assertThat(ops.retryable(new org.apache.hc.client5.http.ConnectTimeoutException("Connect to plug timed out"), "off")).isTrue();
        assertThat(ops.retryable(http(503), "cycle")).isTrue();
        assertThat(ops.ambiguous(new ConnectException("Connection refused"), "cycle")).isFalse();
    }

    @Test
    void theLongestStepBetweenLeaseRenewalsIsOneCallWithEveryRetryAndAVerifyInterval() {
        // defaults: 4 calls of 3 s + 10 s, backoff 1 + 2 + 4 s, verify interval 1 s: within the 180 s lease
        assertThat(PowerOperations.longestStepMillis(3, 1000, 3000, 10_000, 1000)).isEqualTo(60_000);
        assertThat(PowerOperations.longestStepMillis(0, 1000, 3000, 10_000, 0)).isEqualTo(13_000);
        // backoff capped at 30 s per retry
        assertThat(PowerOperations.longestStepMillis(2, 20_000, 0, 0, 0)).isEqualTo(50_000);
    }

    @Test
    void authConfigurationAndUnsupportedFailAtOnceWithTheirKind() {
        assertThat(ops.retryable(http(401))).isFalse();
        assertThat(ops.kind(http(401))).isEqualTo("auth");
        assertThat(ops.failure(http(401), "cycle")).startsWith("cycle: HTTP 401 authentication refused");
        assertThat(ops.retryable(new PowerFatalException("auth: Tasmota WARNING Need user=..."))).isFalse();
        assertThat(ops.kind(new PowerFatalException("auth: Tasmota WARNING Need user=..."))).isEqualTo("auth");
        assertThat(ops.kind(new UnknownHostException("plug.invalid"))).isEqualTo("configuration");
        assertThat(ops.kind(new PowerUnsupportedException("no PowerCycle"))).isEqualTo("unsupported");
        assertThat(ops.retryable(http(404))).isFalse();
        // the first typed error on the cause chain decides: a fatal one wrapping a network error stays fatal
        PowerFatalException wrapped = new PowerFatalException("configuration: x");
        wrapped.initCause(new ConnectException());
        assertThat(ops.retryable(wrapped)).isFalse();
    }
}
