"""What chrome looks like: section markers, buttons, credits, legal footers and the short
dated lines around an article (Russian sites' wording, and the common English markers).

``MARKER``, ``CHROME_LINE`` and ``CHROME_WORDS`` are lowercase and matched against a lowercased
line (``line.lower()``): three times faster than a case-insensitive match."""

from __future__ import annotations

import re

from worker.text import MONTHS

HEADLINE_END = re.compile(r"[^.,;:]$")
EN_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
LINE_DATE = re.compile(
    rf"\b\d{{1,2}}:\d{{2}}\b|\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}\b"
    rf"|\b\d{{1,2}} (?:{MONTHS})\w*|\b(?:сегодня|вчера)\b"
    rf"|\b(?:{EN_MONTHS})[a-z]*\.? \d{{1,2}}\b"
    rf"|\b\d{{1,2}} (?:{EN_MONTHS})[a-z]*\.? (?:19|20)\d\d\b",
    re.IGNORECASE,
)
_SOCIAL = r"telegram|телеграм\w*|vk|вконтакте|facebook|twitter|youtube|дзен\w*|одноклассник\w*"
# Section markers and buttons: what follows them is rarely the article any more.
_SECTION = (
    r"(?:(?:все|последние|другие|главные|похожие|горячие|свежие|популярные|интересные"
    r"|самые \w+|читаемые|обсуждаемые) )?(?:новости|статьи|материалы|публикации)"
)
MARKER = re.compile(
    r"[\W_]*(?:(?:читайте|читай|читать|смотрите|см\.)(?: так ?же| ещё| еще| далее| полностью)?"
    rf"|(?:читайте )?{_SECTION}(?: и материалы| по теме)?|(?:ссылки|больше|ещё|еще|также) по теме"
    r"|по теме|лента новостей|читают сейчас|подпис\w+(?: на (?:рассылку|новости))?"
    r"|(?:новые |последние |все )?коммент\w*(?: к (?:статье|новости|материалу))?"
    r"|(?:добавить|оставить|написать) комментарий|обсуждение(?: материала| статьи| новости)?"
    r"|поделиться(?: новостью| ссылкой| с друзьями)?|распечатать|версия для (?:печати|pda)|печать"
    r"|(?:отправить|выслать|переслать)(?: по почте| ссылку| другу| в)?"
    r"|сообщить об (?:ошибке|опечатке)"
    r"|(?:предыдущая|следующая) (?:новость|статья)|(?:вернуться |перейти )?на главную(?: страницу)?"
    r"|tweet|твитнуть|нравится|рекомендовать|(?:вставить )?в блог|реклама|загрузка\.*|ответить"
    r"|наверх|главная|назад|вперед|вперёд|далее|подробнее|теги|метки|темы|рубрики"
    r"|advertisement|sponsored|related(?: stories| articles| posts| content| story| reading)?"
    r"|(?:leave a |add a |post a )?(?:comments?|reply)|share(?: this)?(?: article| story| post)?"
    r"|you (?:may|might) also like|read (?:more|next)|recommended(?: for you)?|tags)"
    r"(?: (?:на сайте|раздела|рубрики|агентства|партн[её]ров|дня|часа|недели))?[\W_]*(?:\d+[\W_]*)?"
    rf"|.{{0,60}}\b(?:в|во|на|мы в) (?:{_SOCIAL})\W*"
    r"|(?:подписывайтесь|подпишитесь|присоединяйтесь)\b.*",
)
# Other lines that are chrome as a whole: inline links, tags, counters, credits.
CHROME_LINE = re.compile(
    r"(?:читайте|читай|смотрите) (?:так ?же|ещё|еще)\b.*"
    r"|(?:теги|метки|tags|просмотров|комментариев|рейтинг|источник|фото|видео|автор)\s*:.{0,200}"
    r"|(?:фото|photo)\b.{0,80}|table of contents|written by(?: \S+){1,4}"
    r"|[\d.,]+k? (?:likes?|comments?|shares?|views?|min(?:ute)?s? read)"
    r"|\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago"
    r"|адрес\w* (?:материала|матеріалу|статьи|новости|страницы)\s*:.{0,300}"
    r"|(?:вы находитесь|you are here)\s*:.{0,200}"
    r"|.{0,150}[.,]\s*(?:фото|иллюстрация|кадр|photo|image|credit)\b(?:[^.!?]|\.(?=\S)){0,60}"
    r"|(?:читайте|следите|подписывайтесь|присоединяйтесь).{0,60} в социальных сетях.{0,60}",
)
# "JavaScript" is chrome where a page asks for it ("enable JavaScript"), not where it is the topic.
_SWITCH = r"включ|отключ|выключ|поддерж|enable|disable|require|turn"
# Lines with these anywhere are chrome: legal footers, comment rules, the site about itself.
CHROME_WORDS = re.compile(
    r"©|\(c\)|все права защищены|(?:ссылка|гиперссылка) (?:на .{0,60})?обязательна"
    r"|при (?:использовании|цитировании|перепечатке|копировании) (?:материал|информац)"
    r"|свидетельство о регистрации|cookie|ctrl\s*\+\s*enter"
    rf"|(?:{_SWITCH})\w*(?:\W+\w+){{0,2}}\W+javascript|javascript\W+(?:\w+\W+){{0,2}}(?:{_SWITCH})"
    r"|(?:на|с) (?:нашем|нашего|этом|этого) сайт"
    r"|администраци\w* сайта|правила\w* коммент|(?:ваш|свой) (?:комментарий|отзыв)"
    r"|зарегистр\w+ пользовател",
)


def is_chrome(line: str) -> bool:
    low = line.lower()
    return bool(MARKER.fullmatch(low) or CHROME_LINE.fullmatch(low) or CHROME_WORDS.search(low))
