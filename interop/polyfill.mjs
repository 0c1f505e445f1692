// Preloaded with `node --import ./polyfill.mjs script.mjs` on Node 20.
// js-waku 0.0.3x and libp2p 2.x (mortice -> it-queue, @waku/sdk) call
// Promise.withResolvers, which only exists natively from Node 22.
if (typeof Promise.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    }
  });
}
